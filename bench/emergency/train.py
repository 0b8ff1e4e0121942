"""An experiment, not used by the product (bench/README.md, emergency-accuracy):
a logistic regression over tf-idf character 3-5-grams (within words) and word
1-2-grams, trained on corpus.json and dev.json and written, with its idf and
weights, to bench/reports/emergency-model.json. unseen.json is never trained
on; --evaluate prints the classifier's recall and precision on it.

    pip install scikit-learn && python3 bench/emergency/train.py --evaluate
"""
import json, sys, unicodedata
from pathlib import Path
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_union

HERE = Path(__file__).parent
OUT = HERE.parent / 'reports/emergency-model.json'
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
OUT.parent.mkdir(exist_ok=True)
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
    for threshold in (0.5, 0.6, 0.7):
        flagged = [x for x in test if x['p'] >= threshold]
        hits = sum(x['label'] == 'emergency' for x in flagged)
        emergencies = sum(x['label'] == 'emergency' for x in test)
        life = [x for x in test if x['category'] == 'life_safety']
        print(f'unseen, threshold {threshold}: recall {hits / emergencies:.3f}, '
              f'precision {hits / max(1, len(flagged)):.3f}, '
              f'life safety {sum(x["p"] >= threshold for x in life) / len(life):.3f}')
