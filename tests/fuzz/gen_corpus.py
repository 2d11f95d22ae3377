#!/usr/bin/env python3
"""Write the small seed corpora under tests/fuzz/corpus/ (run from anywhere;
the files are committed, so this only needs re-running to change them).
The JPEG seeds (corpus/jpeg/) were written once with vae_jpeg_write() and
are not regenerated here."""
import gzip
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


# ---- checkpoint container (doc/checkpoint.md) ---------------------------
MAGIC = b'\x89SPD\r\n\x1a\n'


def entry(name, dtype, dims, payload):
    n = name.encode()
    return struct.pack('<H', len(n)) + n + bytes([dtype, len(dims)]) + \
        b''.join(struct.pack('<Q', d) for d in dims) + payload


def section(tag, entries):
    payload = b''.join(entries)
    head = tag + struct.pack('<IQ', len(entries), len(payload))
    crc = zlib.crc32(payload + head) & 0xffffffff
    return head + struct.pack('<I', crc) + payload


def ckpt(kind, sections):
    return MAGIC + struct.pack('<I', 1) + kind + b''.join(sections) + section(b'END\0', [])


# Flag byte first (bit 0: the target re-fixes CRCs after mutation).
doc_example = ckpt(b'TEST', [section(b'AAAA', [entry('n', 3, [], struct.pack('<Q', 258))])])
put('ckpt', 'doc-example', b'\x00' + doc_example)
put('ckpt', 'doc-example-fixcrc', b'\x01' + doc_example)
mixed = ckpt(b'GENR', [
    section(b'PARM', [
        entry('w', 1, [2, 3], struct.pack('<6f', 1, 2, 3, 4, 5, 6)),
        entry('b', 1, [3], struct.pack('<3f', 0.5, -0.5, 0)),
        entry('lr', 2, [], struct.pack('<d', 1e-3)),
    ]),
    section(b'META', [
        entry('step', 3, [], struct.pack('<Q', 7)),
        entry('off', 4, [], struct.pack('<q', -3)),
        entry('bytes', 5, [4], b'abcd'),
        entry('ids', 6, [2], struct.pack('<2I', 1, 2)),
    ]),
])
put('ckpt', 'mixed-fixcrc', b'\x01' + mixed)
put('ckpt', 'empty', b'\x01' + ckpt(b'TEST', []))
put('ckpt', 'truncated', b'\x00' + mixed[:40])

# ---- IDX images (examples/celeba_vae/idx.h) ------------------------------
# First byte: image limit (mod 8; 0: all).


def idx(count, rows, cols, pixels=None):
    head = struct.pack('>IIII', 0x803, count, rows, cols)
    if pixels is None:
        pixels = bytes((i * 37) & 0xff for i in range(count * rows * cols))
    return head + pixels


put('idx', 'plain-3x4x5', b'\x00' + idx(3, 4, 5))
put('idx', 'plain-limit2', b'\x02' + idx(3, 4, 5))
put('idx', 'gzip-2x3x3', b'\x00' + gzip.compress(idx(2, 3, 3), mtime=0))
put('idx', 'truncated-pixels', b'\x00' + idx(3, 4, 5)[:40])
put('idx', 'labels-magic', b'\x00' + struct.pack('>II', 0x801, 2) + b'\x01\x02')

# ---- CelebA image cache (examples/celeba_vae/cache.h) ----------------------
# Flag byte first (bit 0: the target re-fixes the CRC after mutation).


def cache(c, h, w, indices, files, fingerprint=0x1234):
    body = b''.join(struct.pack('<I', i) for i in indices)
    body += bytes((i * 11) & 0xff for i in range(len(indices) * c * h * w))
    head = b'SVAECACH' + struct.pack('<IIIIQQQ', 1, c, h, w, len(indices), files,
                                     fingerprint)
    return head + struct.pack('<II', zlib.crc32(body) & 0xffffffff, 0) + body


put('cache', 'rgb-2x4x4', b'\x00' + cache(3, 4, 4, [0, 2], 3))
put('cache', 'gray-3x2x2-fixcrc', b'\x01' + cache(1, 2, 2, [1, 4, 5], 6))
put('cache', 'empty-fixcrc', b'\x01' + cache(3, 2, 2, [], 0))
put('cache', 'truncated', b'\x00' + cache(3, 4, 4, [0, 2], 3)[:70])

# ---- estimator API (tests/fuzz/fuzz_estimator.c) -------------------------
# fkind, alpha (f64), alpha-mode, dim, np, nq, samples, point mode, then the
# spread (kind, scale f64, scale-mode, rank, dim diag values, dim*3 L values)
# and the points.


def est(fkind, alpha, dim, np_, nq, samples, mode, skind, scale, points):
    b = bytes([fkind]) + struct.pack('<d', alpha) + b'\x00' + \
        bytes([dim, np_, nq, samples, mode, skind]) + struct.pack('<d', scale) + \
        b'\x00\x01' + bytes(range(16, 16 + dim)) + bytes(range(100, 100 + 3 * dim))
    return b + points


pts = bytes((i * 53 + 7) & 0xff for i in range(200))
put('estimator', 'kl-gauss', est(0, 0.0, 2, 4, 5, 3, 1, 0, 1.0, pts))
put('estimator', 'js-laplace', est(2, 0.0, 3, 6, 6, 2, 1, 3, 0.5, pts))
put('estimator', 'alpha-lowrank', est(7, 0.5, 4, 3, 2, 1, 1, 2, 2.0, pts))
put('estimator', 'chi2-far', est(5, 0.0, 2, 2, 2, 4, 2, 0, 0.1, pts))
put('estimator', 'raw-floats', est(0, 0.0, 2, 3, 3, 2, 0, 1, 1.0,
                                   struct.pack('<12f', 1, float('nan'), float('inf'), -1,
                                               0, 1e38, -1e38, 1e-40, 2, 3, 4, 5)))
put('estimator', 'empty-sets', est(0, 0.0, 1, 0, 3, 1, 1, 0, 1.0, pts))
