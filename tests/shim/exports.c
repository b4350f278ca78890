/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shim-exports LIBMOUNTSHIM_SO LIBMOUNTSHIM_MAP
 *
 * The preload must export exactly the wrapped names listed as global in
 * its version script: a stray export would interpose on the program, a
 * missing one would leave a call unwrapped.  Reads the library's dynamic
 * symbol table itself (what `nm -D --defined-only` lists).
 * Exit 0 pass, 1 fail.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NAMES 1024

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Defined dynamic symbols of @path into @names: the count, or -1. */
static int exported(const char *path, char **names)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	struct stat st;
	const char *base;
	int fd, n = 0, i;
	size_t j;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		return -1;
	}
	base = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (base == MAP_FAILED)
		return -1;
	eh = (const Elf64_Ehdr *)base;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64) {
		fprintf(stderr, "%s: not a 64-bit ELF file\n", path);
		return -1;
	}
	sh = (const Elf64_Shdr *)(base + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *sym;
		const char *str;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		sym = (const Elf64_Sym *)(base + sh[i].sh_offset);
		str = base + sh[sh[i].sh_link].sh_offset;
		for (j = 0; j < sh[i].sh_size / sizeof(*sym); j++) {
			int bind = ELF64_ST_BIND(sym[j].st_info);

			if (sym[j].st_shndx == SHN_UNDEF || !sym[j].st_name ||
			    (bind != STB_GLOBAL && bind != STB_WEAK))
				continue;
			if (n < MAX_NAMES)
				names[n++] = strdup(str + sym[j].st_name);
		}
	}
	munmap((void *)base, st.st_size);
	return n;
}

/* The names between "global:" and "local:" of the version script. */
static int listed(const char *path, char **names)
{
	char line[256], *p, *e;
	int n = 0, in = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (!strncmp(p, "global:", 7)) {
			in = 1;
			continue;
		}
		if (!strncmp(p, "local:", 6))
			break;
		if (!in)
			continue;
		e = p + strcspn(p, "; \t\n");
		if (e == p)
			continue;
		*e = '\0';
		if (n < MAX_NAMES)
			names[n++] = strdup(p);
	}
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	static char *have[MAX_NAMES], *want[MAX_NAMES];
	int nh, nw, i = 0, j = 0, bad = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s LIB MAP\n", argv[0]);
		return 1;
	}
	nh = exported(argv[1], have);
	nw = listed(argv[2], want);
	if (nh < 0 || nw <= 0) {
		fprintf(stderr, "FAIL: cannot read the exports or the map\n");
		return 1;
	}
	qsort(have, nh, sizeof(*have), cmp);
	qsort(want, nw, sizeof(*want), cmp);
	while (i < nh || j < nw) {
		int c = i == nh ? 1 : j == nw ? -1 : strcmp(have[i], want[j]);

		if (c < 0) {
			fprintf(stderr, "FAIL: exported but not listed: %s\n",
				have[i++]);
			bad = 1;
		} else if (c > 0) {
			fprintf(stderr, "FAIL: listed but not exported: %s\n",
				want[j++]);
			bad = 1;
		} else {
			i++;
			j++;
		}
	}
	for (i = 0; i < nh; i++)
		free(have[i]);
	for (i = 0; i < nw; i++)
		free(want[i]);
	if (!bad)
		printf("exports: %d names, as listed\n", nh);
	return bad;
}
