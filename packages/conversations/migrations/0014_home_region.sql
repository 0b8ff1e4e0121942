-- The region whose services last served the conversation's visitor (where
-- its socket is): events about it that start elsewhere (an agent's reply
-- from another region) are published to that region's Kafka, so that they
-- reach the visitor live (docs/multi-region.md). Null: not known (from
-- before, or a single-region install); such events stay in their region.
alter table conversations add column home_region text
  check (home_region ~ '^[a-z0-9][a-z0-9-]{0,62}$');
