/* rt_csv.c — the streaming CSV reader under every data path (`run`, `check`'s
 * header look-up, `predict`). RFC 4180 with the usual extensions: CRLF, a
 * UTF-8 BOM, blank lines skipped; the csv(...) options choose the delimiter,
 * the quote and whether a header row exists. The file is read in large
 * blocks; a record (at most CSV_RECORD_MAX bytes) stays contiguous in the block
 * buffer and is unpacked into one field buffer, so the file is never held
 * twice. Every error names its row and column. A large regular file is cut
 * into records and split on a second thread while the caller converts (the
 * pipeline, below); its diagnostics are still the serial reader's. Also the
 * cell parsers: numbers (rt_parse_float), booleans and type inference. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"

#if defined(__SSE2__) && !defined(CSV_NO_SIMD)
#include <emmintrin.h>
#define CSV_SIMD 1
#endif

#define CSV_BLOCK (1u << 20)   /* bytes asked of read() at a time */
#define CSV_TEXT_MAX 400       /* longest source line shown under a diagnostic */
#define CSV_RECORD_MAX (64u << 20)   /* longest record (bytes): a bound on memory */
#define CSV_HASH_THREAD (8u << 20)   /* regular files this large hash on a thread */

/* The data hash of a large regular file, computed on a second thread that
 * reads the file with pread (FNV-1a is a serial chain of multiplies, as slow
 * as the parse itself); smaller files and stdin hash inline in csv_fill. */
typedef struct CsvHasher {
  pthread_t th;
  int fd;             /* the reader's descriptor, read with pread (no shared offset) */
  atomic_bool stop;   /* close before the end: stop reading */
  bool joined;        /* h is final */
  uint64_t h;         /* FNV-1a of the whole file */
} CsvHasher;

static void *csv_hash_main(void *arg) {
  CsvHasher *hs = arg;
  size_t cap = CSV_BLOCK;
  char *b = malloc(cap);
  uint64_t h = RT_FNV_INIT;
  off_t off = 0;
  while (b && !atomic_load_explicit(&hs->stop, memory_order_relaxed)) {
    ssize_t n = pread(hs->fd, b, cap, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    h = rt_fnv1a(b, (size_t)n, h);
    off += n;
  }
  free(b);
  hs->h = b ? h : 0;
  return NULL;
}

struct RtCsv {
  const char *path;        /* the caller's string: diagnostics point at it */
  int fd;                  /* -1 once closed */
  bool eof;                /* read() said end of file */
  char *buf;               /* block buffer; bytes [pos, len) not yet consumed */
  size_t cap, len, pos;
  uint64_t hash;           /* FNV-1a of every byte read */
  int64_t line;            /* file line number of buf[pos] */
  size_t bom;              /* 3 when the first line had a BOM (columns skip it) */
  const char *rec;         /* the current record's raw bytes, in buf */
  size_t rec_len;          /* without its line end */
  int64_t rec_line;        /* file line where it starts */
  char *fbuf;              /* its fields, unquoted, each NUL-terminated */
  size_t fbuf_cap;
  size_t *foff, *flen;     /* per field: offset in fbuf, length */
  int *fline, *fcol;       /* per field: line offset in the record, 1-based column */
  int nf, nf_cap;          /* fields in the current record */
  int end_line, end_col;   /* just past the record's last byte */
  int ncols;               /* header fields */
  char **names;            /* header names (malloc'd) */
  int64_t records;         /* data records read */
  char *text;              /* scratch for the line shown in a diagnostic */
  bool ascii_text;         /* show bytes >= 0x80 as '?' (a bad-UTF-8 line) */
  char delim, quote;       /* field separator and quote byte (',' and '"') */
  bool no_header;          /* header = false: columns are col1..colN */
  bool pending;            /* the first record (no header) is split, not yet returned */
  bool keep_ragged;        /* return records of the wrong width unreported */
  CsvHasher *hasher;       /* the hash thread of a large file, or NULL (inline) */
  bool quiet;              /* the pipeline's reader: fail without reporting */
  bool pipe_ok;            /* a large file: rt_csv_next starts the pipeline */
  bool piped;              /* the pipeline ran (it starts at most once) */
  struct CsvPipe *pipe;    /* a large file's records split on a thread, or NULL */
};

/* Reads more bytes after [pos, len), first moving the unconsumed tail to the
 * front and growing the buffer when a record fills it whole. Returns bytes
 * added, 0 at end of file, -1 after reporting a read error. */
static ssize_t csv_fill(RtCsv *c) {
  if (c->eof) return 0;
  if (c->pos > 0) {
    memmove(c->buf, c->buf + c->pos, c->len - c->pos);
    c->len -= c->pos;
    c->pos = 0;
  }
  if (c->cap - c->len < CSV_BLOCK / 2) {
    c->cap = c->cap * 2 > c->len + CSV_BLOCK ? c->cap * 2 : c->len + CSV_BLOCK;
    c->buf = rt_xrealloc(c->buf, c->cap + 1);
  }
  for (;;) {
    ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (c->quiet) return -1;
      rt_diag(RT_ERROR, rt_loc_file(c->path), "cannot read data: %s", strerror(errno));
      return -1;
    }
    if (n == 0) c->eof = true;
    if (!c->hasher) c->hash = rt_fnv1a(c->buf + c->len, (size_t)n, c->hash);
    c->len += (size_t)n;
    return n;
  }
}

/* The source line of the current record holding line offset lo, shortened so
 * that column col still shows (no text at all when col is far right). */
static const char *csv_text(RtCsv *c, int lo, int col) {
  if (!c->rec || col > CSV_TEXT_MAX) return NULL;
  const char *p = c->rec, *end = c->rec + c->rec_len;
  for (int i = 0; i < lo && p < end; i++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    p = nl ? nl + 1 : end;
  }
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  size_t n = (size_t)((nl ? nl : end) - p);
  if (n && p[n - 1] == '\r') n--;
  bool cut = n > CSV_TEXT_MAX + 40;
  if (cut) n = CSV_TEXT_MAX + 40;
  if (!c->text) c->text = rt_xrealloc(NULL, CSV_TEXT_MAX + 48);
  for (size_t i = 0; i < n; i++) {   /* control bytes would garble a terminal */
    unsigned char ch = (unsigned char)p[i];
    c->text[i] = (ch < 0x20 && ch != '\t') || (ch >= 0x80 && c->ascii_text) ? '?' : p[i];
  }
  strcpy(c->text + n, cut ? " ..." : "");
  return c->text;
}

static RtLoc csv_loc_at(RtCsv *c, int lo, int col) {
  RtLoc l = rt_loc_file(c->path);
  l.line = (int)(c->rec_line + lo);
  l.col = col;
  l.text = csv_text(c, lo, col);
  return l;
}

RtLoc rt_csv_loc(RtCsv *c, int i) {
  if (i >= 0 && i < c->nf) return csv_loc_at(c, c->fline[i], c->fcol[i]);
  return csv_loc_at(c, c->end_line, c->end_col);
}

/* Line offset and column of byte off of the current record. */
static void csv_pos(const RtCsv *c, size_t off, int *lo, int *col) {
  int l = 0;
  size_t bol = 0;
  for (size_t i = 0; i < off; i++)
    if (c->rec[i] == '\n') l++, bol = i + 1;
  *lo = l;
  *col = (int)(off - bol) + 1;
}

/* Checks the record is UTF-8 (no overlongs, surrogates or NULs); reports the
 * first bad byte. ASCII runs are skipped sixteen (SSE2) or eight bytes at a
 * time. */
static bool csv_utf8(RtCsv *c) {
  const unsigned char *s = (const unsigned char *)c->rec;
  size_t n = c->rec_len, i = 0;
  while (i < n) {
#ifdef CSV_SIMD
    if (i + 16 <= n) {   /* sixteen at a time: a byte >= 0x80 or a NUL sets a high bit */
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
      if (!_mm_movemask_epi8(_mm_or_si128(v, _mm_cmpeq_epi8(v, _mm_setzero_si128())))) {
        i += 16;
        continue;
      }
    }
#endif
    if (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      /* no high bit and no zero byte in the word */
      if (!(w & 0x8080808080808080ull) &&
          !((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull)) {
        i += 8;
        continue;
      }
    }
    unsigned b = s[i];
    size_t k = 0;
    unsigned cp = 0, min = 0;
    if (b == 0) goto bad;
    if (b < 0x80) { i++; continue; }
    if (b >= 0xc2 && b <= 0xdf) k = 1, cp = b & 0x1f, min = 0x80;
    else if (b >= 0xe0 && b <= 0xef) k = 2, cp = b & 0x0f, min = 0x800;
    else if (b >= 0xf0 && b <= 0xf4) k = 3, cp = b & 0x07, min = 0x10000;
    else goto bad;
    for (size_t j = 1; j <= k; j++) {
      if (i + j >= n || (s[i + j] & 0xc0) != 0x80) goto bad;
      cp = cp << 6 | (s[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) goto bad;
    i += k + 1;
    continue;
  bad: {
    if (c->quiet) return false;
    int lo, col;
    csv_pos(c, i, &lo, &col);
    c->ascii_text = true;
    rt_diag(RT_ERROR, csv_loc_at(c, lo, col), "invalid %s byte 0x%02x in data",
            b ? "UTF-8" : "NUL", b);
    c->ascii_text = false;
    return false;
  }
  }
  return true;
}

/* A byte as a diagnostic shows it: ',' or tab or byte 0x1f. */
static void csv_show_byte(char b, char out[8]) {
  unsigned char ch = (unsigned char)b;
  if (ch == '\t') strcpy(out, "tab");
  else if (ch >= 0x20 && ch < 0x7f) snprintf(out, 8, "'%c'", ch);
  else snprintf(out, 8, "0x%02x", ch);
}

/* Room for one more field in the per-field arrays. */
static void csv_grow(RtCsv *c) {
  if (c->nf == c->nf_cap) {
    c->nf_cap = c->nf_cap ? c->nf_cap * 2 : 16;
    c->foff = rt_xrealloc(c->foff, sizeof *c->foff * (size_t)c->nf_cap);
    c->flen = rt_xrealloc(c->flen, sizeof *c->flen * (size_t)c->nf_cap);
    c->fline = rt_xrealloc(c->fline, sizeof *c->fline * (size_t)c->nf_cap);
    c->fcol = rt_xrealloc(c->fcol, sizeof *c->fcol * (size_t)c->nf_cap);
  }
}

/* A record that holds no quote byte: every field is bare. The delimiters
 * are found sixteen bytes at a time (SSE2) and each field is copied in one
 * 16-byte piece when it can be. A field's bytes start in fbuf at its own
 * record offset (each earlier field took its length plus a NUL, as it took
 * its length plus a delimiter), so fbuf's slack covers the wide stores.
 * Returns false, having done nothing, when the record holds a quote. */
static bool csv_split_bare(RtCsv *c) {
#ifdef CSV_SIMD
  const char *r = c->rec;
  size_t n = c->rec_len;
  if (memchr(r, c->quote, n)) return false;
  if (c->fbuf_cap < 2 * n + 64) {
    c->fbuf_cap = 2 * n + 64;
    c->fbuf = rt_xrealloc(c->fbuf, c->fbuf_cap);
  }
  char *fb = c->fbuf, d = c->delim;
  const __m128i dd = _mm_set1_epi8(d);
  size_t start = 0, k = 0;
  c->nf = 0;
#define CSV_DMASK(at) \
  ((uint64_t)(unsigned)_mm_movemask_epi8( \
      _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(r + (at))), dd)))
  for (bool last = false; !last;) {   /* 64 bytes a mask: few loop exits */
    uint64_t mask = 0;
    size_t base = k;
    if (k + 64 <= n) {
      mask = CSV_DMASK(k) | CSV_DMASK(k + 16) << 16 | CSV_DMASK(k + 32) << 32 |
             CSV_DMASK(k + 48) << 48;
      k += 64;
    } else {
      size_t i = k;
      for (; i + 16 <= n; i += 16) mask |= CSV_DMASK(i) << (i - k);
      for (; i < n; i++) mask |= (uint64_t)(r[i] == d) << (i - k);
      mask |= 1ull << (n - k);   /* the record's end closes the last field */
      last = true;
    }
    while (mask) {
      size_t at = base + (size_t)__builtin_ctzll(mask), len = at - start;
      mask &= mask - 1;
      if (c->nf == c->nf_cap) csv_grow(c);
      char *o = fb + start;
      if (len < 16 && start + 16 <= n) memcpy(o, r + start, 16);
      else memcpy(o, r + start, len);
      o[len] = 0;
      c->foff[c->nf] = start;
      c->flen[c->nf] = len;
      c->fline[c->nf] = 0;
      c->fcol[c->nf] = (int)start + 1;
      c->nf++;
      start = at + 1;
    }
  }
#undef CSV_DMASK
  c->end_line = 0;
  c->end_col = (int)n + 1;
  return true;
#else
  (void)c;
  return false;
#endif
}

/* Splits the current record into fields (record = field *(DELIM field);
 * field = quoted | bare). Quotes inside a bare field are kept as bytes; after
 * a closing quote only the delimiter or the end may follow. */
static bool csv_split(RtCsv *c) {
  if (csv_split_bare(c)) return true;
  const char *r = c->rec;
  size_t n = c->rec_len, p = 0, fused = 0;
  if (c->fbuf_cap < n + 1 + (n + 1)) {   /* unquoted bytes + one NUL per field */
    c->fbuf_cap = 2 * n + 64;
    c->fbuf = rt_xrealloc(c->fbuf, c->fbuf_cap);
  }
  c->nf = 0;
  int lo = 0;
  size_t bol = 0;   /* offset where line lo starts */
  for (;;) {
    int col = (int)(p - bol) + 1;
    if (p < n && r[p] == c->quote) {
      size_t start = fused, q = p + 1;
      int flo = lo;
      /* the field's bytes are unquoted into fbuf by hand: "" becomes " */
      csv_grow(c);
      for (;;) {
        const char *e = memchr(r + q, c->quote, n - q);
        if (!e) {   /* the extent scan makes this unreachable; stay safe */
          if (c->quiet) return false;
          rt_diag(RT_ERROR, csv_loc_at(c, flo, col), "unterminated quoted field");
          return false;
        }
        size_t k = (size_t)(e - r);
        for (size_t i = q; i < k; i++)
          if (r[i] == '\n') lo++, bol = i + 1;
        memcpy(c->fbuf + fused, r + q, k - q);
        fused += k - q;
        if (k + 1 < n && r[k + 1] == c->quote) {
          c->fbuf[fused++] = c->quote;
          q = k + 2;
          continue;
        }
        p = k + 1;
        break;
      }
      c->foff[c->nf] = start;
      c->flen[c->nf] = fused - start;
      c->fline[c->nf] = flo;
      c->fcol[c->nf] = col;
      c->nf++;
      c->fbuf[fused++] = 0;
      if (p < n && r[p] != c->delim) {
        if (c->quiet) return false;
        int ccol = (int)(p - bol) + 1;
        unsigned char ch = (unsigned char)r[p];
        char dl[8];
        csv_show_byte(c->delim, dl);
        if (ch >= 0x20 && ch < 0x7f)
          rt_diag(RT_ERROR, csv_loc_at(c, lo, ccol),
                  "expected %s or end of line after a closing quote, found '%c'", dl, ch);
        else
          rt_diag(RT_ERROR, csv_loc_at(c, lo, ccol),
                  "expected %s or end of line after a closing quote, found byte 0x%02x", dl, ch);
        return false;
      }
    } else {   /* a bare field: copied while looking for its end (fields are short) */
      csv_grow(c);
      char *out = c->fbuf + fused, d = c->delim;
      size_t k = p;
      /* eight bytes at a time while they lie inside the record: copy the
       * word whole (fbuf has slack past the field), stop at a delimiter */
      uint64_t dd = 0x0101010101010101ull * (unsigned char)d;
      while (k + 8 <= n) {
        uint64_t w, x;
        memcpy(&w, r + k, 8);
        memcpy(out, &w, 8);
        x = w ^ dd;
        x = (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
        if (x) {
          size_t at = (size_t)__builtin_ctzll(x) >> 3;
          k += at, out += at;
          goto bare_end;
        }
        k += 8, out += 8;
      }
      while (k < n && r[k] != d) *out++ = r[k++];
    bare_end:
      *out = 0;
      c->foff[c->nf] = fused;
      c->flen[c->nf] = k - p;
      c->fline[c->nf] = lo;
      c->fcol[c->nf] = col;
      c->nf++;
      fused += k - p + 1;
      p = k;
    }
    if (p >= n) break;
    p++;   /* the delimiter — a trailing one still opens an (empty) field */
  }
  c->end_line = lo;
  c->end_col = (int)(n - bol) + 1;
  return true;
}

/* Reports the record at pos (bytes up to end) as too long; inq: a quoted
 * field opened at record offset qstart is still open. Returns -1. */
static int csv_overlong(RtCsv *c, size_t end, bool inq, size_t qstart) {
  if (c->quiet) return -1;
  c->rec = c->buf + c->pos;
  c->rec_len = end - c->pos;
  c->rec_line = c->line;
  int lo = 0, col = 1;
  if (inq) csv_pos(c, qstart, &lo, &col);
  rt_diag(RT_ERROR, csv_loc_at(c, lo, col), "record longer than %u MiB%s",
          CSV_RECORD_MAX >> 20, inq ? ": this quoted field is never closed" : "");
  return -1;
}

/* Finds the next non-blank record: its extent is the bytes up to a newline
 * outside quotes (the scan state survives refills). Returns 1, 0 at the end
 * of the file, -1 after reporting. */
static int csv_record(RtCsv *c) {
  for (;;) {
    size_t scan = c->pos;
    bool inq = false;
    size_t qstart = 0;   /* where the open quote is, for the error */
    size_t end;
    for (;;) {
      if (scan < c->len) {
        if (!inq) {
          const char *nl = memchr(c->buf + scan, '\n', c->len - scan);
          size_t stop = nl ? (size_t)(nl - c->buf) : c->len;
          const char *qq = memchr(c->buf + scan, c->quote, stop - scan);
          if (qq) {
            size_t k = (size_t)(qq - c->buf);
            /* a quote opens a quoted field only at the field's start;
             * elsewhere it is a plain byte (csv_split agrees) */
            if (k == c->pos || c->buf[k - 1] == c->delim) inq = true, qstart = k - c->pos;
            scan = k + 1;
            continue;
          }
          scan = stop;
          if (nl) {
            end = stop;
            break;
          }
        } else {
          const char *qq = memchr(c->buf + scan, c->quote, c->len - scan);
          if (!qq) {
            scan = c->len;
          } else {
            size_t k = (size_t)(qq - c->buf);
            if (k + 1 < c->len || c->eof) {
              /* "" stays inside the field; a lone quote closes it */
              if (k + 1 < c->len && c->buf[k + 1] == c->quote) scan = k + 2;
              else inq = false, scan = k + 1;
              continue;
            }
            scan = k;   /* the byte after this quote decides: read more first */
          }
        }
      }
      if (c->eof) {
        end = c->len;
        if (inq) {
          if (c->quiet) return -1;
          c->rec = c->buf + c->pos;
          c->rec_len = end - c->pos;
          c->rec_line = c->line;
          int lo, col;
          csv_pos(c, qstart, &lo, &col);
          rt_diag(RT_ERROR, csv_loc_at(c, lo, col),
                  c->quote == '\'' ? "unterminated quoted field: no closing \"%c\" before the end of the file"
                                   : "unterminated quoted field: no closing '%c' before the end of the file",
                  c->quote);
          return -1;
        }
        break;
      }
      size_t off = scan - c->pos;
      if (c->len - c->pos > CSV_RECORD_MAX) return csv_overlong(c, c->len, inq, qstart);
      if (csv_fill(c) < 0) return -1;   /* moves the record to the front */
      scan = c->pos + off;
    }
    if (end == c->pos && c->eof && c->pos == c->len) return 0;
    if (end - c->pos > CSV_RECORD_MAX) return csv_overlong(c, end, false, 0);
    c->rec = c->buf + c->pos;
    c->rec_len = end - c->pos;
    c->rec_line = c->line;
    int nls = 0;
    for (const char *p = c->rec; (p = memchr(p, '\n', (size_t)(c->rec + c->rec_len - p)));
         p++)
      nls++;
    c->line += 1 + nls;
    c->pos = end < c->len ? end + 1 : end;
    if (c->rec_len && c->rec[c->rec_len - 1] == '\r') c->rec_len--;
    if (c->rec_len == 0) continue;   /* blank line */
    return 1;
  }
}

/* Reads the first record as the header: it must exist, and its names must be
 * distinct (a hash set of names; the duplicate's note cites the first). */
static bool csv_header(RtCsv *c) {
  if (csv_fill(c) < 0) return false;
  if (c->len >= 3 && !memcmp(c->buf, "\xef\xbb\xbf", 3)) c->pos = c->bom = 3;
  int r = csv_record(c);
  if (r < 0) return false;
  if (r == 0) {
    rt_diag(RT_ERROR, rt_loc_file(c->path), "empty file: expected a header row");
    return false;
  }
  if (!csv_utf8(c) || !csv_split(c)) return false;
  c->ncols = c->nf;
  c->names = rt_xrealloc(NULL, sizeof(char *) * (size_t)c->ncols);
  if (c->no_header) {   /* the first record is data: names are col1..colN */
    for (int i = 0; i < c->ncols; i++) {
      char nm[24];
      snprintf(nm, sizeof nm, "col%d", i + 1);
      c->names[i] = rt_xstrdup(nm);
    }
    c->pending = true;
    return true;
  }
  size_t hcap = 16;
  while (hcap < 2 * (size_t)c->ncols) hcap *= 2;
  int *slot = rt_xrealloc(NULL, sizeof(int) * hcap);
  for (size_t i = 0; i < hcap; i++) slot[i] = -1;
  bool ok = true;
  for (int i = 0; i < c->ncols; i++) {
    size_t n;
    const char *s = rt_csv_field(c, i, &n);
    c->names[i] = memcpy(rt_xrealloc(NULL, n + 1), s, n + 1);
    if (!ok) continue;
    size_t h = (size_t)rt_fnv1a(s, n, RT_FNV_INIT) & (hcap - 1);
    for (; slot[h] >= 0; h = (h + 1) & (hcap - 1))
      if (!strcmp(c->names[slot[h]], s)) {
        rt_diag(RT_ERROR, rt_csv_loc(c, i), "duplicate column name '%s'", s);
        rt_note(rt_csv_loc(c, slot[h]), "first named here");
        ok = false;
        break;
      }
    if (ok) slot[h] = i;
  }
  free(slot);
  return ok;
}

RtCsv *rt_csv_open(const char *path) { return rt_csv_open_opts(path, NULL); }

RtCsv *rt_csv_open_opts(const char *path, const RtCsvOpts *o) {
  RtCsv *c = rt_xrealloc(NULL, sizeof *c);
  memset(c, 0, sizeof *c);
  c->delim = o && o->delim ? o->delim : ',';
  c->quote = o && o->quote ? o->quote : '"';
  c->no_header = o && o->no_header;
  c->keep_ragged = o && o->keep_ragged;
  c->path = strcmp(path, "-") ? path : "<stdin>";
  c->line = 1;
  c->hash = RT_FNV_INIT;
  if (!strcmp(path, "-")) {
    c->fd = dup(0);
  } else {
    c->fd = open(path, O_RDONLY | O_CLOEXEC);
  }
  if (c->fd < 0) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot open data: %s", strerror(errno));
    rt_csv_close(c);
    return NULL;
  }
  struct stat st = {0};
  if (!fstat(c->fd, &st) && S_ISREG(st.st_mode) && st.st_size >= (off_t)CSV_HASH_THREAD) {
    c->hasher = rt_xmalloc(sizeof *c->hasher);
    c->hasher->fd = c->fd;
    atomic_init(&c->hasher->stop, false);
    if (pthread_create(&c->hasher->th, NULL, csv_hash_main, c->hasher)) {
      free(c->hasher);
      c->hasher = NULL;
    }
  }
  /* the pipeline for regular files of CSV_HASH_THREAD bytes or more (never
   * a pipe: an early close joins the thread, which may wait in read); the
   * tests lower the bound with MLXC_CSV_PIPE_MIN (bytes) */
  const char *pm = getenv("MLXC_CSV_PIPE_MIN");
  if (pm && *pm) c->pipe_ok = S_ISREG(st.st_mode) && st.st_size >= strtoll(pm, NULL, 10);
  else c->pipe_ok = c->hasher != NULL;
  if (!csv_header(c)) {
    rt_csv_close(c);
    return NULL;
  }
  return c;
}

/* ---- the pipeline of a large file ------------------------------------------
 * A regular file of CSV_HASH_THREAD bytes or more is read, cut into records
 * and split into fields on a thread (a second RtCsv, `quiet`), batch after
 * batch, while the caller's thread converts the fields it gets from
 * rt_csv_next. The thread stops at the end of the file and at the first
 * record the serial reader would report (a bad byte, a bad quote, a record of
 * the wrong width, a read error): it leaves its buffer at that record's
 * start, and once the caller has taken every batch before it, the serial
 * reader goes on from there — so every diagnostic is the serial reader's own,
 * reported in file order. */
#define CSV_PIPE_BATCH (256u << 10)   /* raw record bytes per batch */
#define CSV_PIPE_NB 4                 /* batches in flight */

typedef struct CsvBrec {   /* one record of a batch: offsets into its arrays */
  size_t raw, rec_len, fb, fld;
  int64_t line;
  int nf, end_line, end_col;
} CsvBrec;

typedef struct CsvBatch {
  char *raw, *fb;                  /* the records' bytes; their fields (as fbuf) */
  size_t raw_len, raw_cap, fb_len, fb_cap;
  size_t *foff, *flen;             /* per field, as in RtCsv */
  int *fline, *fcol;
  size_t nfld, fld_cap;
  CsvBrec *recs;
  size_t nrec, rec_cap, at;        /* at: the next record to hand out */
  bool last;                       /* the thread stopped after this batch */
} CsvBatch;

typedef struct CsvPipe {
  pthread_t th;
  RtCsv *w;                        /* the thread's reader */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint64_t produced, consumed;     /* batches published / given back */
  bool stop;                       /* the caller closed early */
  CsvBatch *cur;                   /* the caller's batch (taken, not given back) */
  CsvBatch b[CSV_PIPE_NB];
} CsvPipe;

static void *csv_grow_to(void *p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return p;
  size_t n = *cap ? *cap : 4096;
  while (n < need) n *= 2;
  *cap = n;
  return rt_xrealloc(p, n * elem);
}

/* Appends the thread reader's current record (split) to batch b. */
static void csv_batch_add(CsvBatch *b, const RtCsv *w) {
  size_t fbn = w->nf ? w->foff[w->nf - 1] + w->flen[w->nf - 1] + 1 : 0, k = (size_t)w->nf;
  b->recs = csv_grow_to(b->recs, &b->rec_cap, b->nrec + 1, sizeof *b->recs);
  b->raw = csv_grow_to(b->raw, &b->raw_cap, b->raw_len + w->rec_len + 1, 1);
  b->fb = csv_grow_to(b->fb, &b->fb_cap, b->fb_len + fbn + 1, 1);
  if (b->nfld + k > b->fld_cap) {
    size_t cap = b->fld_cap;
    b->foff = csv_grow_to(b->foff, &cap, b->nfld + k, sizeof *b->foff);
    b->flen = rt_xrealloc(b->flen, cap * sizeof *b->flen);
    b->fline = rt_xrealloc(b->fline, cap * sizeof *b->fline);
    b->fcol = rt_xrealloc(b->fcol, cap * sizeof *b->fcol);
    b->fld_cap = cap;
  }
  CsvBrec *r = &b->recs[b->nrec++];
  *r = (CsvBrec){.raw = b->raw_len, .rec_len = w->rec_len, .fb = b->fb_len, .fld = b->nfld,
                 .line = w->rec_line, .nf = w->nf, .end_line = w->end_line,
                 .end_col = w->end_col};
  memcpy(b->raw + b->raw_len, w->rec, w->rec_len);
  b->raw_len += w->rec_len;
  memcpy(b->fb + b->fb_len, w->fbuf, fbn);
  b->fb_len += fbn;
  memcpy(b->foff + b->nfld, w->foff, k * sizeof *b->foff);
  memcpy(b->flen + b->nfld, w->flen, k * sizeof *b->flen);
  memcpy(b->fline + b->nfld, w->fline, k * sizeof *b->fline);
  memcpy(b->fcol + b->nfld, w->fcol, k * sizeof *b->fcol);
  b->nfld += k;
}

static void *csv_pipe_main(void *arg) {
  CsvPipe *p = arg;
  RtCsv *w = p->w;
  for (bool done = false; !done;) {
    pthread_mutex_lock(&p->mu);
    while (!p->stop && p->produced - p->consumed >= CSV_PIPE_NB)
      pthread_cond_wait(&p->cv, &p->mu);
    bool stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    if (stop) break;
    CsvBatch *b = &p->b[p->produced % CSV_PIPE_NB];
    b->raw_len = b->fb_len = b->nfld = b->nrec = b->at = 0;
    while (b->raw_len < CSV_PIPE_BATCH) {
      int r = csv_record(w);
      if (r > 0 && csv_utf8(w) && csv_split(w) && (w->nf == w->ncols || w->keep_ragged)) {
        csv_batch_add(b, w);
        continue;
      }
      if (r > 0) {   /* back to the record's start: the serial reader reports it */
        w->pos = (size_t)(w->rec - w->buf);
        w->line = w->rec_line;
      }
      done = true;   /* r <= 0: the buffer is still at the record's start */
      break;
    }
    b->last = done;
    pthread_mutex_lock(&p->mu);
    p->produced++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  return NULL;
}

/* The current record's arrays point into a batch while the pipeline runs. */
static void csv_unborrow(RtCsv *c) {
  c->fbuf = NULL, c->fbuf_cap = 0;
  c->foff = c->flen = NULL;
  c->fline = c->fcol = NULL;
  c->nf_cap = 0;
  c->rec = NULL;
}

/* Starts the pipeline: the thread's reader takes over the block buffer. */
static void csv_pipe_start(RtCsv *c) {
  c->piped = true;
  CsvPipe *p = rt_xmalloc(sizeof *p);
  memset(p, 0, sizeof *p);
  RtCsv *w = rt_xmalloc(sizeof *w);
  memset(w, 0, sizeof *w);
  w->path = c->path, w->fd = c->fd, w->eof = c->eof;
  w->buf = c->buf, w->cap = c->cap, w->len = c->len, w->pos = c->pos, w->line = c->line;
  w->ncols = c->ncols, w->delim = c->delim, w->quote = c->quote;
  w->keep_ragged = c->keep_ragged, w->hasher = c->hasher, w->hash = c->hash, w->quiet = true;
  p->w = w;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  c->buf = NULL;
  if (pthread_create(&p->th, NULL, csv_pipe_main, p)) {
    c->buf = w->buf;
    free(w);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
    return;
  }
  free(c->fbuf), free(c->foff), free(c->flen), free(c->fline), free(c->fcol);
  csv_unborrow(c);
  c->pipe = p;
}

/* Ends the pipeline: joins the thread and takes the buffer back (where the
 * thread stopped, or wherever it got to when the caller closes early). */
static void csv_pipe_end(RtCsv *c) {
  CsvPipe *p = c->pipe;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  pthread_join(p->th, NULL);
  RtCsv *w = p->w;
  c->buf = w->buf, c->cap = w->cap, c->len = w->len, c->pos = w->pos;
  c->line = w->line, c->eof = w->eof, c->hash = w->hash;
  free(w->fbuf), free(w->foff), free(w->flen), free(w->fline), free(w->fcol);
  free(w->text);
  free(w);
  for (int i = 0; i < CSV_PIPE_NB; i++) {
    CsvBatch *b = &p->b[i];
    free(b->raw), free(b->fb), free(b->foff), free(b->flen), free(b->fline), free(b->fcol);
    free(b->recs);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p);
  c->pipe = NULL;
  csv_unborrow(c);
  c->nf = 0;
}

/* The next record from the pipeline: 1, or 0 once the thread has stopped and
 * every batch is taken (the serial reader goes on). The lock is taken once a
 * batch. */
static int csv_pipe_next(RtCsv *c) {
  CsvPipe *p = c->pipe;
  for (;;) {
    CsvBatch *b = p->cur;
    if (b && b->at < b->nrec) {
      const CsvBrec *r = &b->recs[b->at++];
      c->rec = b->raw + r->raw;
      c->rec_len = r->rec_len;
      c->rec_line = r->line;
      c->fbuf = b->fb + r->fb;
      c->foff = b->foff + r->fld;
      c->flen = b->flen + r->fld;
      c->fline = b->fline + r->fld;
      c->fcol = b->fcol + r->fld;
      c->nf = r->nf;
      c->end_line = r->end_line;
      c->end_col = r->end_col;
      return 1;
    }
    pthread_mutex_lock(&p->mu);
    if (b) {   /* give the finished batch back */
      p->consumed++;
      pthread_cond_broadcast(&p->cv);
      p->cur = NULL;
      if (b->last) {
        pthread_mutex_unlock(&p->mu);
        csv_pipe_end(c);
        return 0;
      }
    }
    while (p->produced == p->consumed) pthread_cond_wait(&p->cv, &p->mu);
    p->cur = &p->b[p->consumed % CSV_PIPE_NB];
    pthread_mutex_unlock(&p->mu);
  }
}

int rt_csv_next(RtCsv *c) {
  if (c->pending) {   /* header = false: the first record, split by csv_header */
    c->pending = false;
    c->records++;
    return 1;
  }
  if (!c->piped && c->pipe_ok) csv_pipe_start(c);
  if (c->pipe && csv_pipe_next(c)) {
    c->records++;
    return 1;
  }
  int r = csv_record(c);
  if (r <= 0) {
    c->rec = NULL;
    c->nf = 0;
    return r;
  }
  if (!csv_utf8(c) || !csv_split(c)) return -1;
  if (c->nf != c->ncols && !c->keep_ragged) {
    rt_diag(RT_ERROR, rt_csv_loc(c, c->nf > c->ncols ? c->ncols : c->nf),
            "expected %d field%s, found %d", c->ncols, c->ncols == 1 ? "" : "s", c->nf);
    return -1;
  }
  c->records++;
  return 1;
}

int rt_csv_ncols(const RtCsv *c) { return c->ncols; }
int rt_csv_nfields(const RtCsv *c) { return c->nf; }
const char *rt_csv_name(const RtCsv *c, int i) { return c->names[i]; }
int64_t rt_csv_records(const RtCsv *c) { return c->records; }
int64_t rt_csv_line(const RtCsv *c) { return c->rec_line; }
uint64_t rt_csv_hash(const RtCsv *c) {
  if (!c->hasher) return c->hash;
  if (!c->hasher->joined) {
    pthread_join(c->hasher->th, NULL);
    c->hasher->joined = true;
  }
  return c->hasher->h;
}

const char *rt_csv_field(const RtCsv *c, int i, size_t *len) {
  if (i < 0 || i >= c->nf) {
    if (len) *len = 0;
    return "";
  }
  if (len) *len = c->flen[i];
  return c->fbuf + c->foff[i];
}

void rt_csv_close(RtCsv *c) {
  if (!c) return;
  if (c->pipe) csv_pipe_end(c);
  if (c->hasher) {
    if (!c->hasher->joined) {
      atomic_store(&c->hasher->stop, true);
      pthread_join(c->hasher->th, NULL);
    }
    free(c->hasher);
  }
  if (c->fd >= 0) close(c->fd);
  for (int i = 0; c->names && i < c->ncols; i++) free(c->names[i]);
  free(c->names);
  free(c->buf);
  free(c->fbuf);
  free(c->foff);
  free(c->flen);
  free(c->fline);
  free(c->fcol);
  free(c->text);
  free(c);
}

int rt_csv_header(const char *path, char ***names, int *n) {
  return rt_csv_header_opts(path, NULL, names, n);
}

int rt_csv_header_opts(const char *path, const RtCsvOpts *o, char ***names, int *n) {
  *names = NULL;
  *n = 0;
  RtCsv *c = rt_csv_open_opts(path, o);
  if (!c) return -1;
  *names = c->names;
  *n = c->ncols;
  c->names = NULL;
  c->ncols = 0;
  rt_csv_close(c);
  return 0;
}

/* Powers of ten a double holds exactly: the fast path's divisors. */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* 10^-k rounded to double: the multiply of the fast path. */
static const double pow10_neg[] = {1e0,   1e-1,  1e-2,  1e-3,  1e-4,  1e-5,  1e-6,  1e-7,
                                   1e-8,  1e-9,  1e-10, 1e-11, 1e-12, 1e-13, 1e-14, 1e-15,
                                   1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22};

/* strtod of len bytes at s (not NUL-terminated): the slow path, kept out of
 * rt_parse_float so that its fast path needs no stack buffer. */
static __attribute__((noinline)) double csv_strtod(const char *s, size_t len) {
  char tmp[128];
  char *heap = NULL, *p = tmp;
  if (len >= sizeof tmp) p = heap = rt_xrealloc(NULL, len + 1);
  memcpy(p, s, len);
  p[len] = 0;
  double d = strtod(p, NULL);
  free(heap);
  return d;
}

/* Validates the decimal grammar by hand, then converts: when the digits fit
 * 2^53 and the power of ten is exact (Clinger's fast path) one multiply or
 * divide is correctly rounded, the same double strtod gives; else strtod. */
bool rt_parse_float(const char *s, size_t n, float *out) {
  size_t i = 0;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  size_t start = i;
  bool neg = false;
  if (i < n) {   /* without a branch: the sign of real data is a coin toss */
    unsigned char ch = (unsigned char)s[i];
    neg = ch == '-';
    i += (size_t)(neg | (ch == '+'));
  }
  /* digits accumulate with wrap-around; past 19 of them m is not exact and
   * strtod decides (leading zeros count, so such inputs take the slow path) */
  uint64_t m = 0;
  size_t d0 = i;
  unsigned dg;
  while (i < n && (dg = (unsigned)(unsigned char)s[i] - '0') < 10) m = m * 10 + dg, i++;
  int ndig = (int)(i - d0), exp10 = 0;
  if (i < n && s[i] == '.') {
    size_t f0 = ++i;
    while (i < n && (dg = (unsigned)(unsigned char)s[i] - '0') < 10) m = m * 10 + dg, i++;
    exp10 = -(int)(i - f0);
    ndig += (int)(i - f0);
  }
  bool slow = ndig > 19;
  if (ndig == 0) return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    bool eneg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    int e = 0, edig = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, edig++)
      if (e < 100000) e = e * 10 + (s[i] - '0');
    if (edig == 0) return false;
    exp10 += eneg ? -e : e;
  }
  if (i != n) return false;
  double d;
  if (!slow && m <= (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
    d = (double)m;
    if (exp10 >= 0) {
      d *= pow10_exact[exp10];
    } else {
      /* m * 10^-k is within 3 ulp of the correctly rounded m / 10^k; both
       * round to the same float unless a float rounding boundary (the low 29
       * mantissa bits at half) lies that close: then divide. */
      double q = d * pow10_neg[-exp10];
      uint64_t bits;
      memcpy(&bits, &q, sizeof bits);
      uint32_t low = (uint32_t)(bits & 0x1fffffffu);
      d = low - 0x0ffffff8u <= 16u ? d / pow10_exact[-exp10] : q;
    }
    uint64_t db;   /* the sign bit set without a branch */
    memcpy(&db, &d, sizeof db);
    db |= (uint64_t)neg << 63;
    memcpy(&d, &db, sizeof d);
  } else {
    d = csv_strtod(s + start, n - start);
  }
  float f = (float)d;
  if (!isfinite(f)) return false;
  *out = f;
  return true;
}

/* true/false and yes/no in any letter case; with spaces around. */
bool rt_parse_bool(const char *s, size_t n, float *out) {
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  while (n && (*s == ' ' || *s == '\t')) s++, n--;
  static const char *const words[] = {"false", "true", "no", "yes"};
  for (int i = 0; i < 4; i++)
    if (strlen(words[i]) == n && !strncasecmp(s, words[i], n)) {
      *out = (float)(i & 1);
      return true;
    }
  return false;
}

RtColType rt_col_infer(RtColType sofar, const char *s, size_t n) {
  float v;
  switch (sofar) {
  case RT_COL_AUTO:
    if (rt_parse_float(s, n, &v)) return RT_COL_NUMBER;
    return rt_parse_bool(s, n, &v) ? RT_COL_BOOL : RT_COL_CATEGORY;
  case RT_COL_NUMBER: return rt_parse_float(s, n, &v) ? RT_COL_NUMBER : RT_COL_CATEGORY;
  case RT_COL_BOOL: return rt_parse_bool(s, n, &v) ? RT_COL_BOOL : RT_COL_CATEGORY;
  default: return RT_COL_CATEGORY;
  }
}
