#!/usr/bin/env python3
"""The PyTorch side of the end-to-end benchmark (bench/end-to-end.ts): the work of
`opnp eval --methods energy,react,opnp --opnp p_min=..,p_max=..,n_min=..,n_max=..` in one PyTorch CPU script.

On the PyTorch twin of bench/fixtures/mnist-resnet.onnx (`MnistResNet` of tools/fixtures/onnx/make_models.py,
weights read from the .onnx by name):
  1. reads the raw IDX sets, (x / 255 - mean) / std, forward passes in batches of --batch-size on --threads
     threads (features = the pooled 64-d vector, logits = fc);
  2. training set: the closed-form OPNP sensitivity s = (1/N) softmax(f)^T |h| (float64 sums), neuron sensitivity
     = mean over classes, and --fit-samples seeded training rows kept for ReAct;
  3. masks: keep lo <= s <= hi with numpy-'linear' percentiles (weights: p_min, 100 - p_max; neurons: n_min,
     100 - n_max), pruned head W * mask_w * mask_n;
  4. scores of the test and OOD sets: energy logsumexp(f), ReAct (features clipped at the --react-percentile of
     the fit rows, then energy), OPNP (energy of the pruned head);
  5. scikit-learn metrics per method and OOD set: AUROC, FPR at 95% TPR, AUPR-in / AUPR-out; ID accuracy.

Usage: pytorch_eval.py --model m.onnx --train train-images-idx3-ubyte --test t10k-images-idx3-ubyte
                       --ood name=images-idx3-ubyte ... [--threads 2] [--batch-size 256] [--opnp 10,1,10,1]
Prints one JSON line: seconds per phase and in total (after the imports; `importSeconds` apart), the metrics.
Needs Debian's python3-torch, python3-onnx, python3-sklearn, python3-numpy.
"""
import argparse
import json
import os
import sys
import time

T0 = time.perf_counter()
import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'tools', 'fixtures', 'onnx'))
from make_models import MnistResNet  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - T0


def read_idx_images(path):
    with open(path, 'rb') as f:
        data = f.read()
    n, h, w = (int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(3))
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, h, w)


def read_idx_labels(path):
    with open(path, 'rb') as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int64)


def load_twin(path):
    model = MnistResNet().eval()
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(path).graph.initializer}
    model.load_state_dict(weights)
    return model


def forward(model, images, mean, std, batch_size):
    """Features [N, 64] and logits [N, 10] of uint8 images, preprocessed batch by batch."""
    features, logits = [], []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy((images[start:start + batch_size].astype(np.float32) / 255.0 - mean) / std)
            h = model.features(x)
            features.append(h)
            logits.append(model.fc(h))
    return torch.cat(features), torch.cat(logits)


def percentile(values, q):
    return float(np.percentile(values, q))  # numpy's default 'linear', as @opnp/core


def keep_mask(values, low, high):
    lo = percentile(values, low) if low > 0 else -np.inf
    hi = percentile(values, 100 - high) if high > 0 else np.inf
    return (values >= lo) & (values <= hi)


def metrics(id_scores, ood_scores):
    y = np.concatenate([np.ones(len(id_scores)), np.zeros(len(ood_scores))])
    s = np.concatenate([id_scores, ood_scores])
    fpr, tpr, _ = roc_curve(y, s)
    return {
        'auroc': float(roc_auc_score(y, s)),
        'fpr95': float(fpr[np.searchsorted(tpr, 0.95, side='left')]),
        'auprIn': float(average_precision_score(y, s)),
        'auprOut': float(average_precision_score(1 - y, -s)),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--model', required=True)
    parser.add_argument('--train', required=True)
    parser.add_argument('--test', required=True)
    parser.add_argument('--ood', action='append', required=True)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--batch-size', type=int, default=256)
    parser.add_argument('--mean', type=float, default=0.1307)
    parser.add_argument('--std', type=float, default=0.3081)
    parser.add_argument('--opnp', default='10,1,10,1')
    parser.add_argument('--fit-samples', type=int, default=20000)
    parser.add_argument('--react-percentile', type=float, default=90)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    phases = {}
    clock = time.perf_counter()

    def phase(name):
        nonlocal clock
        now = time.perf_counter()
        phases[name] = round(now - clock, 3)
        clock = now

    model = load_twin(args.model)
    W, b = model.fc.weight.detach(), model.fc.bias.detach()
    train = read_idx_images(args.train)
    test = read_idx_images(args.test)
    test_labels = read_idx_labels(args.test.replace('images-idx3', 'labels-idx1'))
    ood = {name: read_idx_images(path) for name, path in (o.split('=', 1) for o in args.ood)}
    phase('load')

    h, f = forward(model, train, args.mean, args.std, args.batch_size)
    p = torch.softmax(f.double(), dim=1)
    sensitivity = (p.T @ h.double().abs()).numpy() / len(train)  # [C, D]
    neuron = sensitivity.mean(axis=0)
    fit = np.random.default_rng(0).choice(len(train), min(args.fit_samples, len(train)), replace=False)
    fit_features = h[np.sort(fit)].numpy()
    phase('trainingPass')

    p_min, p_max, n_min, n_max = (float(v) for v in args.opnp.split(','))
    mask = torch.from_numpy(keep_mask(sensitivity, p_min, p_max) & keep_mask(neuron, n_min, n_max)[None, :])
    pruned = W * mask.to(W.dtype)
    clip = percentile(fit_features, args.react_percentile)
    scorers = {
        'energy': lambda hh, ff: torch.logsumexp(ff, 1),
        'react': lambda hh, ff: torch.logsumexp(hh.clamp(max=clip) @ W.T + b, 1),
        'opnp': lambda hh, ff: torch.logsumexp(hh @ pruned.T + b, 1),
    }

    def score(images):
        hh, ff = forward(model, images, args.mean, args.std, args.batch_size)
        return {name: s(hh, ff).numpy() for name, s in scorers.items()}, ff.argmax(1).numpy()

    test_scores, predicted = score(test)
    ood_scores = {name: score(images)[0] for name, images in ood.items()}
    phase('scoring')

    results = [{'method': m, 'ood': name, **metrics(test_scores[m], scores[m])} for m in scorers for name, scores in ood_scores.items()]
    accuracy = float((predicted == test_labels).mean())
    phase('metrics')
    print(json.dumps({
        'seconds': round(sum(phases.values()), 3),
        'importSeconds': round(IMPORT_SECONDS, 3),
        'phases': phases,
        'counts': {'train': len(train), 'test': len(test), 'ood': {k: len(v) for k, v in ood.items()}},
        'idAccuracy': accuracy,
        'results': results,
    }))


if __name__ == '__main__':
    main()
