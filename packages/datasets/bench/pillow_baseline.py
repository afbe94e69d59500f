#!/usr/bin/env python3
"""Pillow baseline of the images benchmark (bench/images.ts): the same work as `opnp` on a folder of JPEGs.

Per image: Image.open + convert('RGB') (decode), resize of the shorter side to 256 with Image.BILINEAR
(torchvision's Resize(256) on PIL images), centre crop 224 (torchvision's offsets), x / 255, ImageNet mean /
std, CHW float32, stacked into batches of `--batch-size`. Timed in this process after the imports:

  single  one process, images in order
  pool    `multiprocessing.Pool(--workers)` with imap over the files (order kept), the arrays pickled back, as
          a PyTorch DataLoader(num_workers=N) does; the pool is started before the clock

Usage: python3 pillow_baseline.py <folder> [--batch-size 64] [--workers 2] [--first out.npy] [--steps]
Prints one JSON line: {"single": seconds, "pool": seconds, "singleCpu": seconds, "poolCpu": seconds, "images": n}
(CPU = user + system; the pool's includes its worker processes, counted when they exit). Needs python3-pil
and python3-numpy.
With --first, writes the first image's preprocessed [3, 224, 224] float32 array (checked against opnp's).
With --steps, adds "steps": CPU seconds per image of each step in one process, one step over all images at a
time: decode, resize (the whole image, as Pillow does), crop + normalise.
"""
import argparse
import json
import multiprocessing
import os
import resource
import time

import numpy as np
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)


def pillow_crop(path):
    """Decode, Resize(256) with Image.BILINEAR, CenterCrop(224): the uint8 pixels [224, 224, 3]."""
    image = Image.open(path).convert('RGB')
    w, h = image.size
    if w <= h:
        size = (256, int(256 * h / w))
    else:
        size = (int(256 * w / h), 256)
    image = image.resize(size, Image.BILINEAR)
    top = int(round((size[1] - 224) / 2.0))
    left = int(round((size[0] - 224) / 2.0))
    return np.asarray(image.crop((left, top, left + 224, top + 224)))


def preprocess(path):
    x = pillow_crop(path).astype(np.float32).transpose(2, 0, 1) / 255.0
    return (x - MEAN) / STD


def first_exact(path):
    """The first image with opnp's arithmetic (float32(v * (1/255/std) + (-mean/std)) in float64), so the
    check compares decode, resize and crop exactly."""
    x = pillow_crop(path).astype(np.float64).transpose(2, 0, 1)
    mean = np.array([0.485, 0.456, 0.406]).reshape(3, 1, 1)
    std = np.array([0.229, 0.224, 0.225]).reshape(3, 1, 1)
    return (x * ((1 / 255) / std) + (-mean / std)).astype(np.float32)


def steps(files):
    """CPU seconds per image of decode, resize and crop + normalise, each timed over all files."""
    cpu = time.process_time()
    images = [Image.open(path).convert('RGB') for path in files]
    decode = time.process_time() - cpu
    cpu = time.process_time()
    resized = []
    for image in images:
        w, h = image.size
        size = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
        resized.append(image.resize(size, Image.BILINEAR))
    resize = time.process_time() - cpu
    cpu = time.process_time()
    for image in resized:
        w, h = image.size
        top = int(round((h - 224) / 2.0))
        left = int(round((w - 224) / 2.0))
        x = np.asarray(image.crop((left, top, left + 224, top + 224))).astype(np.float32).transpose(2, 0, 1) / 255.0
        (x - MEAN) / STD
    normalise = time.process_time() - cpu
    n = len(files)
    return {'decode': decode / n, 'resize': resize / n, 'normalise': normalise / n}


def batches(arrays, batch_size):
    batch = []
    for x in arrays:
        batch.append(x)
        if len(batch) == batch_size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def run(files, batch_size, mapper):
    start = time.perf_counter()
    n = 0
    for batch in batches(mapper(preprocess, files), batch_size):
        n += batch.shape[0]
    assert n == len(files)
    return time.perf_counter() - start


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('folder')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--first')
    parser.add_argument('--steps', action='store_true')
    args = parser.parse_args()
    files = sorted(os.path.join(args.folder, f) for f in os.listdir(args.folder) if f.lower().endswith('.jpg'))
    if args.first:
        np.save(args.first, first_exact(files[0]))
    cpu = time.process_time()
    single = run(files, args.batch_size, map)
    single_cpu = time.process_time() - cpu
    pool = multiprocessing.Pool(args.workers)
    pool.map(abs, range(args.workers))  # workers up before the clock
    cpu = time.process_time() + children_cpu()
    parallel = run(files, args.batch_size, lambda f, xs: pool.imap(f, xs, chunksize=4))
    pool.close()
    pool.join()
    pool_cpu = time.process_time() + children_cpu() - cpu
    result = {'single': single, 'pool': parallel, 'singleCpu': single_cpu, 'poolCpu': pool_cpu, 'images': len(files)}
    if args.steps:
        result['steps'] = steps(files)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
