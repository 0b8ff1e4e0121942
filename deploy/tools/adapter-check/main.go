// adapter-check loads a prometheus-adapter configuration (the chart's
// `parley-prometheus-adapter` ConfigMap) with prometheus-adapter's own code:
// its strict YAML loader, the rules compiled into namers as the adapter
// does at start (series queries, name regexes, resource overrides, query
// templates), and every query template executed once, so that a rule the
// adapter would refuse or fail on fails here.
package main

import (
	"fmt"
	"os"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/prometheus-adapter/pkg/config"
	"sigs.k8s.io/prometheus-adapter/pkg/naming"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: adapter-check <config.yaml>")
		os.Exit(2)
	}
	cfg, err := config.FromFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	// The resources the chart's rules name, as a cluster's discovery would map them.
	mapper := apimeta.NewDefaultRESTMapper(nil)
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "Pod"},
		{Version: "v1", Kind: "Namespace"},
		{Version: "v1", Kind: "Service"},
		{Group: "apps", Version: "v1", Kind: "Deployment"},
	} {
		mapper.Add(gvk, apimeta.RESTScopeNamespace)
	}
	namers, err := naming.NamersFromConfig(cfg.Rules, mapper)
	if err != nil {
		fail(fmt.Errorf("rules: %w", err))
	}
	for i, namer := range namers {
		if _, err := namer.QueryForSeries("series", schema.GroupResource{Resource: "pods"}, "parley", labels.Everything(), "pod-a"); err != nil {
			fail(fmt.Errorf("rules[%d] (%s): %w", i, cfg.Rules[i].SeriesQuery, err))
		}
	}
	external, err := naming.NamersFromConfig(cfg.ExternalRules, mapper)
	if err != nil {
		fail(fmt.Errorf("externalRules: %w", err))
	}
	for i, namer := range external {
		if _, err := namer.QueryForExternalSeries("series", "parley", labels.Everything()); err != nil {
			fail(fmt.Errorf("externalRules[%d] (%s): %w", i, cfg.ExternalRules[i].SeriesQuery, err))
		}
	}
	fmt.Printf("ok: %d rules, %d external rules\n", len(cfg.Rules), len(cfg.ExternalRules))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
