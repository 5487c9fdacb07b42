/*
 * httpc_int.h: what src/httpc/httpc.c (connections, TLS) and src/httpc/parse.c (the response parser) share.
 * Not a contract for other modules: include/httpc.h is.
 */
#ifndef ANCHORID_HTTPC_INT_H
#define ANCHORID_HTTPC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpc.h"
#include "util.h"

#define HTTPC_MAX_CHUNK_LINE 1024 /* a chunk-size line with its extensions: servers send "1000\r\n" */

/* Where the parser is in the response. */
enum httpc_pstate {
	HTTPC_PS_HEAD,       /* status line and header section (1xx interim responses included) */
	HTTPC_PS_LENGTH,     /* body of Content-Length bytes */
	HTTPC_PS_CLOSE,      /* body delimited by the end of the connection */
	HTTPC_PS_CHUNK_SIZE, /* chunk-size line */
	HTTPC_PS_CHUNK_DATA, /* chunk-data */
	HTTPC_PS_CHUNK_CRLF, /* the CRLF after chunk-data */
	HTTPC_PS_TRAILERS,   /* trailer section after the last chunk */
	HTTPC_PS_DONE,       /* a complete response */
	HTTPC_PS_FAILED      /* malformed or over a limit: every later feed fails */
};

/* What httpc_parser_feed says. */
enum httpc_parse_status { HTTPC_PARSE_ERROR = -1, HTTPC_PARSE_DONE = 0, HTTPC_PARSE_MORE = 1 };

/*
 * A resumable parser over a growing buffer: the caller appends what it reads and feeds the whole buffer again;
 * the parser keeps offsets (never pointers, so the buffer may move) and never rescans what it has consumed.
 */
struct httpc_parser {
	enum httpc_pstate state;
	size_t pos;                  /* bytes of the input consumed */
	size_t scan;                 /* HEAD and TRAILERS: the line where the search for the blank line resumes */
	size_t seek;                 /* where the search for the next LF resumes: no LF before it after scan */
	size_t head_bytes;           /* header-section bytes consumed, interim responses included */
	size_t framing;              /* chunked framing consumed: size lines, CRLFs after data, trailers */
	size_t max_body;             /* limit on body bytes (never 0) */
	bool no_body;                /* the request was HEAD: the final response has no body */
	uint64_t expect;             /* LENGTH: the Content-Length; CHUNK_DATA: the chunk size */
	uint64_t left;               /* LENGTH, CHUNK_DATA: bytes still to come */
	struct buf body;             /* the decoded body so far */
	struct httpc_response *resp; /* the response being built: status and headers of the latest head */
};

/** httpc_framing_max(max_body): the most chunked framing (size lines with extensions, CRLFs, trailers)
 * accepted beside a body limit of ${max_body}: enough for chunks of 16 bytes on average. */
size_t httpc_framing_max(size_t max_body);

/** httpc_parser_init(p, max_body, head): an empty parser; ${max_body} 0 means HTTPC_DEFAULT_MAX_BODY; ${head}:
 * the request was HEAD.  Release with httpc_parser_release. */
void httpc_parser_init(struct httpc_parser *p, size_t max_body, bool head);

/** httpc_parser_feed(p, buf, len, eof, err, errlen): go on parsing the ${len} bytes at ${buf}, of which the
 * first p->pos are the ones fed before (unchanged); ${eof}: nothing more will come.  HTTPC_PARSE_DONE when a
 * response is complete (bytes after it are an error), HTTPC_PARSE_MORE when it needs more input (never with
 * ${eof}), HTTPC_PARSE_ERROR and a sentence in ${err}. */
int httpc_parser_feed(struct httpc_parser *p, const char *buf, size_t len, bool eof, char *err, size_t errlen);

/** httpc_parser_take(p): the response after HTTPC_PARSE_DONE (the caller frees it with httpc_response_free),
 * NULL on memory failure. */
struct httpc_response *httpc_parser_take(struct httpc_parser *p);

/** httpc_parser_release(p): free what ${p} holds. */
void httpc_parser_release(struct httpc_parser *p);

/** httpc_tchar(c): RFC 9110 §5.6.2 tchar, the bytes of a token (a method, a field name). */
bool httpc_tchar(char c);

#endif
