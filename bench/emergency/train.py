"""Trains the emergency classifier (services/ai/src/domain/emergency-model.json).

A logistic regression over tf-idf character 3-5-grams (within words) and word
1-2-grams, trained on corpus.json and dev.json; unseen.json is never trained on
(it measures what new messages can expect). The TypeScript side
(emergency-classifier.ts) computes the same features and score.

    python3 bench/emergency/train.py [--evaluate]   # needs scikit-learn
"""
import json, sys, unicodedata
from pathlib import Path
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_union

HERE = Path(__file__).parent
OUT = HERE.parent.parent / 'services/ai/src/domain/emergency-model.json'
C = 16.0
THRESHOLD = 0.5


def normalise(text):
    # As the TypeScript side: NFKD, marks removed, lower case, curly apostrophes straightened.
    text = unicodedata.normalize('NFKD', text)
    text = ''.join(c for c in text if not unicodedata.combining(c))
    return text.lower().replace('\u2019', "'").replace('`', "'").replace('\u00b4', "'")


def load(name):
    return json.loads((HERE / f'{name}.json').read_text())


train = load('corpus') + load('dev')
texts = [normalise(x['text']) for x in train]
labels = [x['label'] == 'emergency' for x in train]
# token_pattern and char_wb as sklearn defines them; the TypeScript side mirrors both.
chars = TfidfVectorizer(analyzer='char_wb', ngram_range=(3, 5), sublinear_tf=True, lowercase=False)
words = TfidfVectorizer(analyzer='word', ngram_range=(1, 2), sublinear_tf=True, lowercase=False)
features = make_union(chars, words)
X = features.fit_transform(texts)
model = LogisticRegression(C=C, max_iter=5000, class_weight='balanced').fit(X, labels)

coef = model.coef_[0]
offset = len(chars.vocabulary_)
def table(vectorizer, start):
    return {
        term: [round(float(vectorizer.idf_[i]), 4), round(float(coef[start + i]), 4)]
        for term, i in sorted(vectorizer.vocabulary_.items())
    }
OUT.write_text(json.dumps({
    'about': 'bench/emergency/train.py: logistic regression, tf-idf char_wb 3-5-grams + word 1-2-grams',
    'trainedOn': ['bench/emergency/corpus.json', 'bench/emergency/dev.json'],
    'threshold': THRESHOLD,
    'intercept': round(float(model.intercept_[0]), 4),
    'chars': table(chars, 0),
    'words': table(words, offset),
}, ensure_ascii=False, separators=(',', ':')) + '\n')
print(f'{OUT}: {len(chars.vocabulary_)} character and {len(words.vocabulary_)} word features')

if '--evaluate' in sys.argv:
    test = load('unseen')
    p = model.predict_proba(features.transform([normalise(x['text']) for x in test]))[:, 1]
    for x, pi in zip(test, p):
        x['p'] = float(pi)
    print(json.dumps([{'text': x['text'], 'p': round(x['p'], 4)} for x in test[:5]], ensure_ascii=False))
