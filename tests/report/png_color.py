#!/usr/bin/python3
# png_color.py PNG RRGGBB [TOL] — prints how many pixels of PNG are within TOL
# (default 24) of the colour RRGGBB on each channel. Standard library only:
# the chunks are read here, IDAT inflated with zlib and the row filters undone
# by hand (8-bit RGB or RGBA, not interlaced: what Chromium's --screenshot writes).
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("%s: not a PNG" % path)
    at, idat, hdr = 8, [], None
    while at < len(data):
        n, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        at += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        sys.exit("%s: unsupported PNG (depth %d, colour type %d, interlace %d)"
                 % (path, depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        elif f != 0:
            sys.exit("%s: bad filter %d in row %d" % (path, f, y))
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main():
    path, hexc = sys.argv[1], sys.argv[2]
    tol = int(sys.argv[3]) if len(sys.argv) > 3 else 24
    want = [int(hexc[i:i + 2], 16) for i in (0, 2, 4)]
    w, h, bpp, rows = read_png(path)
    count = 0
    for line in rows:
        for x in range(0, w * bpp, bpp):
            if (abs(line[x] - want[0]) <= tol and abs(line[x + 1] - want[1]) <= tol
                    and abs(line[x + 2] - want[2]) <= tol):
                count += 1
    print(count)


main()
