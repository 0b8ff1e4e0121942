"""Trains the emergency classifier that backs the life-safety rules
(services/ai/models/emergency-classifier.json, read by
services/ai/src/domain/emergency-classifier.ts).

A logistic regression over tf-idf character 3-5-grams (within words) and word
1-2-grams, in scikit-learn's definitions, which the TypeScript side mirrors.
Trained on every labelled message but fresh-3.json, which is never trained on
(it measures what new messages can expect):
  - bench/emergency/corpus.json, dev.json, unseen.json, fresh.json, fresh-2.json, train-a.json to train-e.json;
  - bench/knowledge/questions.json (ordinary questions: not emergencies);
  - bench/knowledge/out-of-scope.json (its safety questions are emergencies).
The threshold is chosen by 5-fold cross-validation on the training set alone:
the lowest at which the folds' precision reaches 0.95 and at most 1 % of the
ordinary support messages are flagged.

    pip install scikit-learn && python3 bench/emergency/train.py [--evaluate]
"""
import json
import sys
import unicodedata
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline, make_union

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
OUT = ROOT / 'services/ai/models/emergency-classifier.json'
C = 16.0
PRECISION_GOAL = 0.95
# Most of a support widget's traffic is ordinary: an alarm there calls a person for nothing.
ORDINARY_FALSE_ALARMS = 0.01


def normalise(text):
    # As the TypeScript side: NFKD, marks removed, lower case, apostrophes straightened.
    text = unicodedata.normalize('NFKD', text)
    text = ''.join(c for c in text if not unicodedata.combining(c))
    return text.lower().replace('\u2019', "'").replace('`', "'").replace('\u00b4', "'")


def load(path):
    return json.loads((ROOT / path).read_text())


def labelled():
    """(text, is an emergency, is an ordinary support message) for every training message."""
    items = []
    for name in ('corpus', 'dev', 'unseen', 'fresh', 'fresh-2', 'train-a', 'train-b', 'train-c', 'train-d', 'train-e'):
        items += [
            (x['text'], x['label'] == 'emergency', x['category'] == 'ordinary')
            for x in load(f'bench/emergency/{name}.json')
        ]
    items += [(x['question'], False, True) for x in load('bench/knowledge/questions.json')]
    items += [
        (x['question'], x['kind'] == 'safety', False) for x in load('bench/knowledge/out-of-scope.json')
    ]
    return items


def pipeline():
    return make_pipeline(
        make_union(
            TfidfVectorizer(analyzer='char_wb', ngram_range=(3, 5), sublinear_tf=True, lowercase=False),
            TfidfVectorizer(analyzer='word', ngram_range=(1, 2), sublinear_tf=True, lowercase=False),
        ),
        LogisticRegression(C=C, max_iter=5000, class_weight='balanced'),
    )


items = labelled()
texts = [normalise(t) for t, _, _ in items]
labels = np.array([y for _, y, _ in items])
ordinary = np.array([o for _, _, o in items])

# The threshold, from the folds only.
folds = cross_val_predict(
    pipeline(), texts, labels, cv=StratifiedKFold(5, shuffle=True, random_state=1), method='predict_proba'
)[:, 1]
threshold = 0.95
for candidate in np.arange(0.3, 0.951, 0.025):
    flagged = folds >= candidate
    precise = flagged.sum() and (flagged & labels).sum() / flagged.sum() >= PRECISION_GOAL
    if precise and (flagged & ordinary).sum() / ordinary.sum() <= ORDINARY_FALSE_ALARMS:
        threshold = round(float(candidate), 3)
        break
flagged = folds >= threshold
print(
    f'cross-validation: threshold {threshold}, recall {(flagged & labels).sum() / labels.sum():.3f}, '
    f'precision {(flagged & labels).sum() / flagged.sum():.3f}, '
    f'ordinary messages flagged {(flagged & ordinary).sum()}/{ordinary.sum()}, {len(items)} messages'
)

model = pipeline().fit(texts, labels)
union, regression = model.steps[0][1], model.steps[1][1]
chars, words = (t[1] for t in union.transformer_list)
coef = regression.coef_[0]


def table(vectorizer, start):
    return {
        term: [round(float(vectorizer.idf_[i]), 5), round(float(coef[start + i]), 5)]
        for term, i in sorted(vectorizer.vocabulary_.items())
    }


# A few messages with the probability scikit-learn gives them: the TypeScript port must agree.
samples = [t for t, _, _ in items[::97]] + ['', '🔥🔥 FIRE!!', 'Ça sent le gaz, mon père est par terre']
probabilities = model.predict_proba([normalise(t) for t in samples])[:, 1]
OUT.parent.mkdir(exist_ok=True)
OUT.write_text(
    json.dumps(
        {
            'about': 'bench/emergency/train.py: logistic regression, tf-idf char_wb 3-5-grams + word 1-2-grams (scikit-learn)',
            'threshold': threshold,
            'intercept': round(float(regression.intercept_[0]), 5),
            'chars': table(chars, 0),
            'words': table(words, len(chars.vocabulary_)),
            'parity': [[t, round(float(p), 5)] for t, p in zip(samples, probabilities)],
        },
        ensure_ascii=False,
        separators=(',', ':'),
    )
    + '\n'
)
print(f'{OUT.relative_to(ROOT)}: {len(chars.vocabulary_)} character and {len(words.vocabulary_)} word features')

if '--evaluate' in sys.argv:
    test = load('bench/emergency/fresh-3.json')
    p = model.predict_proba([normalise(x['text']) for x in test])[:, 1]
    y = np.array([x['label'] == 'emergency' for x in test])
    f = p >= threshold
    print(f'fresh-3.json, the classifier alone: recall {(f & y).sum() / y.sum():.3f}, precision {(f & y).sum() / max(1, f.sum()):.3f}')
