/* MIME multipart user data, as Heat, write-mime-multipart and Python's email package
 * write it: the text/cloud-config parts are parsed in order (later values win, lists
 * append), other parts get a notice. Lines of a part sent as it is are counted in the
 * whole user data; a base64 or quoted-printable part is named "user_data[N]" instead. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"

#define MIME_PARTS_MAX 1000

struct mime_hdr {
	char type[96];			/* lower case; "" when not given (text/plain) */
	char boundary[201];
	char encoding[32];		/* lower case */
	char filename[64];
};

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Copies a token or quoted string at *p (advanced past it) into out. */
static void param_value(const char **p, const char *end, char *out, size_t outsz)
{
	const char *s = *p;
	size_t n = 0;
	if (s < end && *s == '"') {
		for (s++; s < end && *s != '"'; s++) {
			if (*s == '\\' && s + 1 < end)
				s++;
			if (n + 1 < outsz)
				out[n++] = *s;
		}
		s += s < end;
	} else {
		for (; s < end && *s != ';' && *s != ' ' && *s != '\t'; s++)
			if (n + 1 < outsz)
				out[n++] = *s;
	}
	out[n] = '\0';
	*p = s;
}

/* "value; name=x; name2="y"": the value into val (lower case), boundary and filename. */
static void parse_value(const char *s, const char *end, char *val, size_t valsz,
			struct mime_hdr *h)
{
	size_t n = 0;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	for (; s < end && *s != ';' && *s != ' ' && *s != '\t'; s++)
		if (n + 1 < valsz)
			val[n++] = *s;
	val[n] = '\0';
	lower(val);
	while (s < end) {
		while (s < end && (*s == ';' || *s == ' ' || *s == '\t'))
			s++;
		const char *name = s;
		while (s < end && *s != '=' && *s != ';')
			s++;
		if (s >= end || *s != '=')
			continue;
		size_t nl = (size_t)(s - name);
		char junk[8];
		s++;
		if (nl == 8 && strncasecmp(name, "boundary", 8) == 0)
			param_value(&s, end, h->boundary, sizeof(h->boundary));
		else if (nl == 8 && strncasecmp(name, "filename", 8) == 0)
			param_value(&s, end, h->filename, sizeof(h->filename));
		else
			param_value(&s, end, junk, sizeof(junk));
	}
}

static void header(const char *line, size_t n, struct mime_hdr *h)
{
	const char *colon = memchr(line, ':', n), *end = line + n;
	char junk[8];
	if (!colon)
		return;
	size_t nl = (size_t)(colon - line);
	if (nl == 12 && strncasecmp(line, "content-type", 12) == 0)
		parse_value(colon + 1, end, h->type, sizeof(h->type), h);
	else if (nl == 25 && strncasecmp(line, "content-transfer-encoding", 25) == 0)
		parse_value(colon + 1, end, h->encoding, sizeof(h->encoding), h);
	else if (nl == 19 && strncasecmp(line, "content-disposition", 19) == 0)
		parse_value(colon + 1, end, junk, sizeof(junk), h);
}

/* Reads headers (folded lines joined) up to the empty line; returns the body's start and
 * adds the lines read to *line. A line that is not a header also starts the body. */
static const char *headers(const char *p, const char *end, struct mime_hdr *h, unsigned *line)
{
	char buf[1024];
	size_t n = 0;
	memset(h, 0, sizeof(*h));
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol ? eol + 1 : end;
		size_t ll = (size_t)((eol ? eol : end) - p);
		if (ll && p[ll - 1] == '\r')
			ll--;
		int cont = ll && (p[0] == ' ' || p[0] == '\t');
		if (!cont && n) {
			header(buf, n, h);
			n = 0;
		}
		if (ll == 0) {
			(*line)++;
			return next;
		}
		if (!cont && !memchr(p, ':', ll))
			return p;	/* no empty line: the body starts here */
		for (size_t i = 0; i < ll && n < sizeof(buf); i++)
			buf[n++] = p[i];
		(*line)++;
		p = next;
	}
	if (n)
		header(buf, n, h);
	return end;
}

/* Quoted-printable (RFC 2045) into out (at least len bytes); returns the length. */
static size_t qp_decode(const char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789ABCDEFabcdef";
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '=') {
			out[o++] = in[i];
		} else if (i + 1 < len && in[i + 1] == '\n') {
			i++;
		} else if (i + 2 < len && in[i + 1] == '\r' && in[i + 2] == '\n') {
			i += 2;
		} else if (i + 2 < len && in[i + 1] && in[i + 2] && strchr(hex, in[i + 1]) &&
			   strchr(hex, in[i + 2])) {
			char h[3] = { in[i + 1], in[i + 2], 0 };
			out[o++] = (char)strtol(h, NULL, 16);
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	return o;
}

static const char *unused_type(const char *type)
{
	if (strncmp(type, "text/x-shellscript", 18) == 0 || !strcmp(type, "text/cloud-boothook") ||
	    !strcmp(type, "text/upstart-job") || !strcmp(type, "text/part-handler"))
		return "cabin runs no user scripts";
	if (!strcmp(type, "text/x-include-url") || !strcmp(type, "text/x-include-once-url"))
		return "cabin fetches no URLs";
	return "not used by cabin";
}

static int multipart(struct ud_ctx *c, const struct mime_hdr *h, const char *body,
		     const char *end, const struct cfg_src *src, unsigned line,
		     const char *name);
static int ud_mime_part(struct ud_ctx *c, const char *p, const char *end,
			const struct cfg_src *src, unsigned line, const char *name);

static void syntax_error(struct ud_ctx *c)
{
	c->errors++;
	c->fail = c->fail ? c->fail : CFG_ESYNTAX;
}

/* One part (or a single-part message): its body decoded, then handled by type. */
static int entity(struct ud_ctx *c, const struct mime_hdr *h, const char *body,
		  const char *end, const struct cfg_src *src, unsigned line, const char *name)
{
	char sname[CFG_SOURCE_MAX + 1], *buf = NULL;
	struct cfg_src inner = { src->name, src->line_base + line - 1 };
	const char *type = h->type[0] ? h->type : "text/plain";
	const char *label = *name ? name : "MIME body";
	const char *data = body;
	size_t len = (size_t)(end - body);
	int rc = 0;

	if (strncmp(type, "multipart/", 10) == 0)
		return multipart(c, h, body, end, src, line, name);
	if (strcmp(h->encoding, "base64") == 0 || strcmp(h->encoding, "quoted-printable") == 0) {
		size_t bad;
		if (!(buf = cfg_malloc(b64_decoded_max(len) + len + 1)))
			return -ENOMEM;
		ssize_t n = h->encoding[0] == 'b' ? b64_decode(body, len, (uint8_t *)buf, &bad) :
						    (ssize_t)qp_decode(body, len, buf);
		if (n < 0) {
			unsigned l, col;
			cfg_offset_pos(body, len, bad, &l, &col);
			cfg_diag_add(c->diag, CFG_ERROR, src->name, inner.line_base + l, col, "",
				     "%s: not base64", label);
			syntax_error(c);
			cfg_free(buf);
			return 0;
		}
		snprintf(sname, sizeof(sname), "%s[%s]", src->name,
			 strncmp(name, "part ", 5) == 0 ? name + 5 : "body");
		inner.name = sname;
		inner.line_base = 0;
		data = buf;
		len = (size_t)n;
	} else if (h->encoding[0] && strcmp(h->encoding, "7bit") && strcmp(h->encoding, "8bit") &&
		   strcmp(h->encoding, "binary")) {
		cfg_diag_add(c->diag, CFG_ERROR, src->name, src->line_base + line, 0, "",
			     "%s: unsupported Content-Transfer-Encoding \"%s\"", label,
			     h->encoding);
		syntax_error(c);
		return 0;
	}
	if (strcmp(type, "text/cloud-config") == 0)
		rc = ud_cloud_config(c, data, len, &inner);
	else if (!strcmp(type, "text/plain") || !strcmp(type, "text/x-not-multipart") ||
		 !strcmp(type, "application/gzip") || !strcmp(type, "application/x-gzip") ||
		 !strcmp(type, "application/octet-stream"))
		rc = ud_dispatch(c, data, len, &inner, label);
	else
		cfg_diag_add(c->diag, *name ? CFG_IGNORED : CFG_WARNING, src->name,
			     src->line_base + line, 0, "", "%s: %s: %s", label, type,
			     unused_type(type));
	cfg_free(buf);
	return rc;
}

/* A delimiter line: "--boundary" or "--boundary--", then only white space. */
static int delimiter(const char *p, const char *next, const char *b, size_t bl, int *close)
{
	if ((size_t)(next - p) < bl + 2 || p[0] != '-' || p[1] != '-' || memcmp(p + 2, b, bl))
		return 0;
	p += bl + 2;
	*close = next - p >= 2 && p[0] == '-' && p[1] == '-';
	for (p += *close ? 2 : 0; p < next; p++)
		if (!strchr(" \t\r\n", *p) || !*p)
			return 0;
	return 1;
}

/* Hands each part between delimiters to entity. line is body's line number. */
static int multipart(struct ud_ctx *c, const struct mime_hdr *h, const char *body,
		     const char *end, const struct cfg_src *src, unsigned line,
		     const char *name)
{
	size_t bl = strlen(h->boundary);
	const char *p = body, *start = NULL;
	unsigned start_line = 0;
	int nparts = 0, closed = 0, rc = 0;
	char pname[48];

	if (!bl) {
		cfg_diag_add(c->diag, CFG_ERROR, src->name, src->line_base + line - 1, 0, "",
			     "%s: multipart without a boundary", *name ? name : "MIME");
		syntax_error(c);
		return 0;
	}
	c->depth++;
	for (; p < end && !closed && rc == 0; line++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol ? eol + 1 : end;
		if (delimiter(p, next, h->boundary, bl, &closed)) {
			if (start) {
				const char *e = p;
				e -= e > start && e[-1] == '\n';
				e -= e > start && e[-1] == '\r';
				rc = ud_mime_part(c, start, e, src, start_line, pname);
			}
			if (++nparts > MIME_PARTS_MAX) {
				cfg_diag_add(c->diag, CFG_ERROR, src->name, 0, 0, "",
					     "more than %d MIME parts", MIME_PARTS_MAX);
				syntax_error(c);
				break;
			}
			snprintf(pname, sizeof(pname), "%s%s%d", name, *name ? "." : "part ",
				 nparts);
			start = next;
			start_line = line + 1;
		}
		p = next;
	}
	if (rc == 0 && start && !closed && nparts <= MIME_PARTS_MAX) {
		cfg_diag_add(c->diag, CFG_WARNING, src->name, 0, 0, "",
			     "MIME: no closing boundary; the last part runs to the end");
		rc = ud_mime_part(c, start, end, src, start_line, pname);
	}
	c->depth--;
	if (rc == 0 && nparts == 0) {
		cfg_diag_add(c->diag, CFG_ERROR, src->name, 0, 0, "",
			     "MIME: boundary \"%s\" not found", h->boundary);
		syntax_error(c);
	}
	return rc;
}

static int ud_mime_part(struct ud_ctx *c, const char *p, const char *end,
			const struct cfg_src *src, unsigned line, const char *name)
{
	struct mime_hdr h;
	if (c->depth > 4) {
		cfg_diag_add(c->diag, CFG_ERROR, src->name, 0, 0, "", "MIME nested too deeply");
		syntax_error(c);
		return 0;
	}
	const char *body = headers(p, end, &h, &line);
	return entity(c, &h, body, end, src, line, name);
}

int ud_mime(struct ud_ctx *c, const char *data, size_t len, const struct cfg_src *src)
{
	return ud_mime_part(c, data, data + len, src, 1, "");
}
