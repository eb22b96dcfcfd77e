/*
 * Recordings of events (fev record, fev replay): the file format of
 * doc/record-format.md, written and read here and nowhere else.
 */
#ifndef FEV_TOOLS_RECORD_FILE_H
#define FEV_TOOLS_RECORD_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fev/fev.h"

#define REC_VERSION_MAJOR 1
#define REC_VERSION_MINOR 0
/* A record larger than this is corruption, not an allocation. */
#define REC_RECORD_MAX (UINT32_C(64) << 20)
/* Room for one sentence about what is wrong with a file. */
#define REC_ERR_MAX 256

struct rec_writer {
	FILE *f;
	uint8_t *buf; /* one record, grown as needed */
	size_t cap;
	uint64_t records;
};

/* Create (or truncate) path and write the header: 0 or -errno. */
int rec_create(struct rec_writer *w, const char *path, const char *source,
	       uint32_t partitions);
/* Append te as one record: 0 or -errno (-EMSGSIZE: too big to record). */
int rec_write(struct rec_writer *w, const fev_tail_event *te,
	      uint64_t recorded_ns);
/* Hand what is buffered to the kernel: 0 or -errno. */
int rec_flush(struct rec_writer *w);
/* Flush and close: 0 or -errno. */
int rec_close(struct rec_writer *w);

struct rec_reader {
	const uint8_t *p; /* the file, mapped */
	size_t len, off;
	uint64_t index; /* records read so far */
	uint32_t partitions;
	uint64_t created_ns;
	char source[FEV_NAME_MAX + 8];
};

struct rec_record {
	fev_tail_event te;     /* key, headers and data point into the file */
	uint64_t recorded_ns;
	size_t offset;         /* where the record starts in the file */
};

/*
 * Map path and check its header: 0, or -1 with a sentence in err (not a
 * recording, another version, corrupt or truncated header, or the
 * system's reason it cannot be read).
 */
int rec_open(struct rec_reader *r, const char *path, char err[REC_ERR_MAX]);
/*
 * The next record, checked (CRC, lengths, key and headers): 1; 0 at the
 * end of the file; -1 with a sentence naming the offset in err.
 */
int rec_next(struct rec_reader *r, struct rec_record *rec,
	     char err[REC_ERR_MAX]);
/* Back to the first record. */
void rec_rewind(struct rec_reader *r);
void rec_close_reader(struct rec_reader *r);

#endif /* FEV_TOOLS_RECORD_FILE_H */
