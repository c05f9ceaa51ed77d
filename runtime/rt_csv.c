/* rt_csv.c — the streaming CSV reader under every data path (`run`, `check`'s
 * header look-up, `predict`). RFC 4180 with the usual extensions: CRLF, a
 * UTF-8 BOM, blank lines skipped. The file is read in large blocks; a record
 * stays contiguous in the block buffer and is unpacked into one field buffer,
 * so the file is never held twice. Every error names its row and column. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

#define CSV_BLOCK (1u << 20)   /* bytes asked of read() at a time */
#define CSV_TEXT_MAX 400       /* longest source line shown under a diagnostic */

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
      rt_diag(RT_ERROR, rt_loc_file(c->path), "cannot read data: %s", strerror(errno));
      return -1;
    }
    if (n == 0) c->eof = true;
    c->hash = rt_fnv1a(c->buf + c->len, (size_t)n, c->hash);
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
 * first bad byte. ASCII runs are skipped eight bytes at a time. */
static bool csv_utf8(RtCsv *c) {
  const unsigned char *s = (const unsigned char *)c->rec;
  size_t n = c->rec_len, i = 0;
  while (i < n) {
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

/* Appends a bare field's bytes to fbuf and its place to the field arrays. */
static void csv_push(RtCsv *c, const char *p, size_t n, size_t *fused, int lo, int col) {
  csv_grow(c);
  c->foff[c->nf] = *fused;
  c->flen[c->nf] = n;
  c->fline[c->nf] = lo;
  c->fcol[c->nf] = col;
  c->nf++;
  memcpy(c->fbuf + *fused, p, n);
  *fused += n;
  c->fbuf[(*fused)++] = 0;
}

/* Splits the current record into fields (record = field *("," field);
 * field = quoted | bare). Quotes inside a bare field are kept as bytes; after
 * a closing quote only ',' or the end may follow. */
static bool csv_split(RtCsv *c) {
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
    if (p < n && r[p] == '"') {
      size_t start = fused, q = p + 1;
      int flo = lo;
      /* the field's bytes are unquoted into fbuf by hand: "" becomes " */
      csv_grow(c);
      for (;;) {
        const char *e = memchr(r + q, '"', n - q);
        if (!e) {   /* the extent scan makes this unreachable; stay safe */
          rt_diag(RT_ERROR, csv_loc_at(c, flo, col), "unterminated quoted field");
          return false;
        }
        size_t k = (size_t)(e - r);
        for (size_t i = q; i < k; i++)
          if (r[i] == '\n') lo++, bol = i + 1;
        memcpy(c->fbuf + fused, r + q, k - q);
        fused += k - q;
        if (k + 1 < n && r[k + 1] == '"') {
          c->fbuf[fused++] = '"';
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
      if (p < n && r[p] != ',') {
        int ccol = (int)(p - bol) + 1;
        unsigned char ch = (unsigned char)r[p];
        if (ch >= 0x20 && ch < 0x7f)
          rt_diag(RT_ERROR, csv_loc_at(c, lo, ccol),
                  "expected ',' or end of line after a closing quote, found '%c'", ch);
        else
          rt_diag(RT_ERROR, csv_loc_at(c, lo, ccol),
                  "expected ',' or end of line after a closing quote, found byte 0x%02x", ch);
        return false;
      }
    } else {
      const char *e = p < n ? memchr(r + p, ',', n - p) : NULL;
      size_t k = e ? (size_t)(e - r) : n;
      csv_push(c, r + p, k - p, &fused, lo, col);
      p = k;
    }
    if (p >= n) break;
    p++;   /* the ',' — a trailing one still opens an (empty) field */
  }
  c->end_line = lo;
  c->end_col = (int)(n - bol) + 1;
  return true;
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
          const char *qq = memchr(c->buf + scan, '"', stop - scan);
          if (qq) {
            size_t k = (size_t)(qq - c->buf);
            /* a quote opens a quoted field only at the field's start;
             * elsewhere it is a plain byte (csv_split agrees) */
            if (k == c->pos || c->buf[k - 1] == ',') inq = true, qstart = k - c->pos;
            scan = k + 1;
            continue;
          }
          scan = stop;
          if (nl) {
            end = stop;
            break;
          }
        } else {
          const char *qq = memchr(c->buf + scan, '"', c->len - scan);
          if (!qq) {
            scan = c->len;
          } else {
            size_t k = (size_t)(qq - c->buf);
            if (k + 1 < c->len || c->eof) {
              /* "" stays inside the field; a lone quote closes it */
              if (k + 1 < c->len && c->buf[k + 1] == '"') scan = k + 2;
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
          c->rec = c->buf + c->pos;
          c->rec_len = end - c->pos;
          c->rec_line = c->line;
          int lo, col;
          csv_pos(c, qstart, &lo, &col);
          rt_diag(RT_ERROR, csv_loc_at(c, lo, col),
                  "unterminated quoted field: no closing '\"' before the end of the file");
          return -1;
        }
        break;
      }
      size_t off = scan - c->pos;
      if (csv_fill(c) < 0) return -1;   /* moves the record to the front */
      scan = c->pos + off;
    }
    if (end == c->pos && c->eof && c->pos == c->len) return 0;
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

RtCsv *rt_csv_open(const char *path) {
  RtCsv *c = rt_xrealloc(NULL, sizeof *c);
  memset(c, 0, sizeof *c);
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
  if (!csv_header(c)) {
    rt_csv_close(c);
    return NULL;
  }
  return c;
}

int rt_csv_next(RtCsv *c) {
  int r = csv_record(c);
  if (r <= 0) {
    c->rec = NULL;
    c->nf = 0;
    return r;
  }
  if (!csv_utf8(c) || !csv_split(c)) return -1;
  if (c->nf != c->ncols) {
    rt_diag(RT_ERROR, rt_csv_loc(c, c->nf > c->ncols ? c->ncols : c->nf),
            "expected %d field%s, found %d", c->ncols, c->ncols == 1 ? "" : "s", c->nf);
    return -1;
  }
  c->records++;
  return 1;
}

int rt_csv_ncols(const RtCsv *c) { return c->ncols; }
const char *rt_csv_name(const RtCsv *c, int i) { return c->names[i]; }
int64_t rt_csv_records(const RtCsv *c) { return c->records; }
uint64_t rt_csv_hash(const RtCsv *c) { return c->hash; }

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
  *names = NULL;
  *n = 0;
  RtCsv *c = rt_csv_open(path);
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

/* Validates the decimal grammar by hand, then converts: when the digits fit
 * 2^53 and the power of ten is exact (Clinger's fast path) one multiply or
 * divide is correctly rounded, the same double strtod gives; else strtod. */
bool rt_parse_float(const char *s, size_t n, float *out) {
  size_t i = 0;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  size_t start = i;
  bool neg = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  uint64_t m = 0;
  int sig = 0, exp10 = 0, ndig = 0;
  bool slow = false;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, ndig++) {
    if (m || s[i] != '0') {
      if (sig < 19) m = m * 10 + (uint64_t)(s[i] - '0'), sig++;
      else slow = true;
    }
  }
  if (i < n && s[i] == '.') {
    for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, ndig++) {
      if (m || s[i] != '0') {
        if (sig < 19) m = m * 10 + (uint64_t)(s[i] - '0'), sig++;
        else slow = true;
      }
      exp10--;
    }
  }
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
    d = exp10 < 0 ? d / pow10_exact[-exp10] : d * pow10_exact[exp10];
    if (neg) d = -d;
  } else {
    char tmp[128];
    size_t len = n - start;
    char *heap = NULL, *p = tmp;
    if (len >= sizeof tmp) p = heap = rt_xrealloc(NULL, len + 1);
    memcpy(p, s + start, len);
    p[len] = 0;
    d = strtod(p, NULL);
    free(heap);
  }
  float f = (float)d;
  if (!isfinite(f)) return false;
  *out = f;
  return true;
}
