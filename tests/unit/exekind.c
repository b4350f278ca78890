/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core/exekind.c: which programs the shim can enter.  Images are built in
 * memory: an ELF executable with or without PT_INTERP, with a Go build id
 * note (4- and 8-byte aligned note segments), a Go function table with a
 * FUSE package path across the probe's read chunks, another ELF class,
 * "#!" lines as binfmt_script reads them, and malformed headers.
 */
#include <elf.h>

#include "exekind.h"
#include "unit.h"

#define IMG_SIZE	(96 * 1024)

struct img {
	unsigned char b[IMG_SIZE];
	size_t len;
	int reads;
};

static ssize_t img_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct img *m = ctx;

	m->reads++;
	if (off >= m->len)
		return 0;
	if (len > m->len - off)
		len = m->len - off;
	memcpy(buf, m->b + off, len);
	return len;
}

static ssize_t eio_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	return -EIO;
}

/*
 * An ELF64 executable for this machine: phdrs at 64, notes at 0x200,
 * section headers at 0x1000 (null, .shstrtab, .gopclntab), names at
 * 0x1800, the function table from 0x2000 (@pcln bytes, zeroes).
 */
#define NOTE_OFF	0x200
#define SH_OFF		0x1000
#define STR_OFF		0x1800
#define PCLN_OFF	0x2000

static void elf_img(struct img *m, bool interp, int go_align, size_t pcln)
{
	static const char strs[] = "\0.shstrtab\0.gopclntab";
	Elf64_Ehdr *eh = (void *)m->b;
	Elf64_Phdr *ph = (void *)(m->b + sizeof(*eh));
	Elf64_Shdr *sh = (void *)(m->b + SH_OFF);
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = 8, .n_type = 1 };
	size_t pos = NOTE_OFF;
	int n = 0;

	memset(m, 0, sizeof(*m));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	ph[n++] = (Elf64_Phdr){ .p_type = PT_PHDR };
	if (interp)
		ph[n++] = (Elf64_Phdr){ .p_type = PT_INTERP };
	/* a GNU note first, so the Go one is found past it; a note's
	 * name and descriptor start aligned */
	memcpy(m->b + pos, &nh, sizeof(nh));
	memcpy(m->b + pos + sizeof(nh), "GNU", 4);
	pos += sizeof(nh) + 4 + 8;	/* 16: aligned either way */
	if (go_align) {
		/* name at 12, desc at 16 (either alignment), 5 bytes,
		 * then padding to the alignment */
		nh = (Elf64_Nhdr){ .n_namesz = 4, .n_descsz = 5, .n_type = 4 };
		memcpy(m->b + pos, &nh, sizeof(nh));
		memcpy(m->b + pos + sizeof(nh), "Go\0", 4);
		pos += 16 + 8;
	}
	ph[n++] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF,
				.p_filesz = pos - NOTE_OFF,
				.p_align = go_align == 8 ? 8 : 4 };
	eh->e_phnum = n;
	eh->e_shoff = SH_OFF;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 3;
	eh->e_shstrndx = 1;
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_STRTAB,
			      .sh_offset = STR_OFF, .sh_size = sizeof(strs) };
	sh[2] = (Elf64_Shdr){ .sh_name = 11, .sh_type = SHT_PROGBITS,
			      .sh_offset = PCLN_OFF, .sh_size = pcln };
	memcpy(m->b + STR_OFF, strs, sizeof(strs));
	m->len = PCLN_OFF + pcln;
}

static struct fdx_probe p;
static struct img m;

static int probe(unsigned int flags)
{
	m.reads = 0;
	T_EQ(fdx_probe(img_read, &m, flags, &p), 0);
	return p.kind;
}

static void script(const char *line, int kind, const char *interp)
{
	memset(&m, 0, sizeof(m));
	m.len = strlen(line);
	memcpy(m.b, line, m.len);
	T_EQ(probe(0), kind);
	if (interp)
		T_CHECK(p.interp && !strcmp(p.interp, interp));
}

int main(void)
{
#ifndef __x86_64__
	return T_SKIP;		/* the images are x86-64 executables */
#endif
	/* dynamic, static */
	elf_img(&m, true, 0, 0);
	T_EQ(probe(FDX_PROBE_LIBS), FDX_DYNAMIC);
	T_CHECK(!fdx_unshimmed(p.kind));
	elf_img(&m, false, 0, 0);
	T_EQ(probe(0), FDX_STATIC);
	T_CHECK(fdx_unshimmed(p.kind));

	/* Go, dynamic (cgo) or static, either note alignment; the
	 * function table is read only when asked */
	elf_img(&m, true, 4, 4096);
	T_EQ(probe(0), FDX_GO);
	T_EQ(p.libs, 0);
	T_CHECK(m.reads < 8);
	elf_img(&m, false, 8, 4096);
	T_EQ(probe(0), FDX_GO);

	/* FUSE packages in the function table, one across two chunks */
	elf_img(&m, true, 4, 64 * 1024);
	memcpy(m.b + PCLN_OFF + 100, "bazil.org/fuse/fs.Serve", 23);
	memcpy(m.b + PCLN_OFF + 8 * 1024 - 10,
	       "github.com/hanwen/go-fuse/v2/fuse.(*Server).Serve", 49);
	T_EQ(probe(FDX_PROBE_LIBS), FDX_GO);
	T_EQ(p.libs, FDX_LIB_GOFUSE | FDX_LIB_BAZIL);
	/* a Go program without any */
	elf_img(&m, true, 4, 64 * 1024);
	T_EQ(probe(FDX_PROBE_LIBS), FDX_GO);
	T_EQ(p.libs, 0);
	/* packages are looked for in Go programs only */
	elf_img(&m, true, 0, 64 * 1024);
	memcpy(m.b + PCLN_OFF, "bazil.org/fuse", 14);
	T_EQ(probe(FDX_PROBE_LIBS), FDX_DYNAMIC);
	T_EQ(p.libs, 0);

	/* another class or machine: ld.so would not load our shim */
	elf_img(&m, true, 0, 0);
	m.b[EI_CLASS] = ELFCLASS32;
	T_EQ(probe(0), FDX_FOREIGN);
	elf_img(&m, true, 0, 0);
	((Elf64_Ehdr *)m.b)->e_machine = EM_AARCH64;
	T_EQ(probe(0), FDX_FOREIGN);

	/* malformed: unknown, never an error */
	elf_img(&m, true, 0, 0);
	((Elf64_Ehdr *)m.b)->e_phnum = 1000;
	T_EQ(probe(0), FDX_UNKNOWN);
	elf_img(&m, true, 0, 0);
	((Elf64_Ehdr *)m.b)->e_type = ET_REL;
	T_EQ(probe(0), FDX_UNKNOWN);
	elf_img(&m, true, 0, 0);
	m.len = 100;		/* the program headers are cut off */
	T_EQ(probe(0), FDX_UNKNOWN);
	elf_img(&m, false, 4, 0);
	/* notes too long */
	((Elf64_Phdr *)(m.b + 64))[1].p_filesz = 4096;
	T_EQ(probe(0), FDX_STATIC);
	memset(&m, 0, sizeof(m));
	m.len = 3;
	memcpy(m.b, "\177EL", 3);
	T_EQ(probe(0), FDX_UNKNOWN);
	T_EQ(fdx_probe(eio_read, NULL, 0, &p), -EIO);

	/* "#!" */
	script("#!/bin/sh\necho\n", FDX_SCRIPT, "/bin/sh");
	script("#! \t/usr/bin/env  python3 -u \n", FDX_SCRIPT, "/usr/bin/env");
	script("#!\n", FDX_UNKNOWN, NULL);
	/* the kernel too takes the NULs after "#!" for an empty name */
	script("#!", FDX_SCRIPT, "");
	script("plain text\n", FDX_UNKNOWN, NULL);

	T_CHECK(strstr(fdx_kind_name(FDX_GO), "Go"));
	return T_PASS;
}
