/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Program kinds (exekind.h): an ELF file's program headers and notes as
 * the kernel's load_elf_binary() and ld.so see them, a "#!" line as
 * binfmt_script() reads it.  Bounded stack use and no allocation: the
 * shim calls it in vfork children.
 */
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "exekind.h"

#if defined(__x86_64__)
#define FDX_MACHINE	EM_X86_64
#elif defined(__aarch64__)
#define FDX_MACHINE	EM_AARCH64
#elif defined(__i386__)
#define FDX_MACHINE	EM_386
#else
#define FDX_MACHINE	EM_NONE		/* not checked */
#endif

#define FDX_CLASS	(sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)

/* Bounds of what is read: more means a file we do not classify. */
#define FDX_MAX_PHDRS	64
#define FDX_MAX_NOTES	2048
#define FDX_MAX_SHDRS	128
#define FDX_SCAN_CHUNK	(8 * 1024)

#define NT_GO_BUILDID	4

static int read_full(fdx_read_fn rd, void *ctx, void *buf, size_t len,
		     uint64_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = rd(ctx, (char *)buf + done, len - done, off + done);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ENOEXEC;	/* shorter than its headers */
		done += n;
	}
	return 0;
}

/* Does the note segment @buf (@len bytes, entries aligned to @align as
 * readelf lays them out: name and descriptor each start aligned) hold a
 * Go build id? */
static bool go_note(const unsigned char *buf, size_t len, size_t align)
{
	size_t pos = 0, name, desc;
	Elf64_Nhdr nh;

	while (pos + sizeof(nh) <= len) {
		memcpy(&nh, buf + pos, sizeof(nh));
		name = pos + sizeof(nh);
		if (nh.n_namesz > len - name)
			return false;
		desc = (name + nh.n_namesz + align - 1) & ~(align - 1);
		if (desc > len || nh.n_descsz > len - desc)
			return false;
		/* Go's linker writes the name "Go\0\0" (4 bytes) */
		if (nh.n_type == NT_GO_BUILDID &&
		    (nh.n_namesz == 3 || nh.n_namesz == 4) &&
		    !memcmp(buf + name, "Go", 3))
			return true;
		pos = (desc + nh.n_descsz + align - 1) & ~(align - 1);
	}
	return false;
}

static const struct {
	const char *s;
	unsigned int lib;
} fuse_markers[] = {
	{ "github.com/hanwen/go-fuse", FDX_LIB_GOFUSE },
	{ "bazil.org/fuse", FDX_LIB_BAZIL },
	{ "github.com/anacrolix/fuse", FDX_LIB_BAZIL },
	{ "github.com/jacobsa/fuse", FDX_LIB_JACOBSA },
	{ "github.com/winfsp/cgofuse", FDX_LIB_CGOFUSE },
};
#define FDX_MARKER_MAX	32

/* FUSE package paths in [off, off + len) of the file. */
static unsigned int scan_libs(fdx_read_fn rd, void *ctx, uint64_t off,
			      uint64_t len)
{
	char buf[FDX_SCAN_CHUNK];
	unsigned int libs = 0;
	size_t keep = 0, n, i;
	ssize_t got;

	while (len) {
		n = sizeof(buf) - keep;
		if (n > len)
			n = len;
		got = rd(ctx, buf + keep, n, off);
		if (got <= 0)
			break;
		off += got;
		len -= got;
		n = keep + got;
		for (i = 0; i < sizeof(fuse_markers) / sizeof(fuse_markers[0]);
		     i++)
			if (memmem(buf, n, fuse_markers[i].s,
				   strlen(fuse_markers[i].s)))
				libs |= fuse_markers[i].lib;
		/* a marker may straddle two chunks */
		keep = n < FDX_MARKER_MAX ? n : FDX_MARKER_MAX;
		memmove(buf, buf + n - keep, keep);
	}
	return libs;
}

/* The Go function table (.gopclntab, whatever its prefix), scanned. */
static unsigned int go_libs(fdx_read_fn rd, void *ctx, const Elf64_Ehdr *eh)
{
	static const char want[] = "gopclntab";
	Elf64_Shdr sh[FDX_MAX_SHDRS], *strs;
	char name[64];
	size_t len;
	int i;

	if (!eh->e_shoff || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !eh->e_shnum || eh->e_shnum > FDX_MAX_SHDRS ||
	    eh->e_shstrndx >= eh->e_shnum ||
	    read_full(rd, ctx, sh, eh->e_shnum * sizeof(Elf64_Shdr),
		      eh->e_shoff) < 0)
		return 0;
	strs = &sh[eh->e_shstrndx];
	for (i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_PROGBITS ||
		    sh[i].sh_name >= strs->sh_size)
			continue;
		memset(name, 0, sizeof(name));
		if (rd(ctx, name, sizeof(name) - 1,
		       strs->sh_offset + sh[i].sh_name) <= 0)
			continue;
		len = strlen(name);
		if (len >= sizeof(want) - 1 &&
		    !strcmp(name + len - (sizeof(want) - 1), want))
			return scan_libs(rd, ctx, sh[i].sh_offset,
					 sh[i].sh_size);
	}
	return 0;
}

static int probe_elf(fdx_read_fn rd, void *ctx, unsigned int flags,
		     struct fdx_probe *p)
{
	unsigned char notes[FDX_MAX_NOTES];
	Elf64_Phdr ph[FDX_MAX_PHDRS];
	bool interp = false, go = false;
	Elf64_Ehdr eh;
	uint16_t machine;
	int i, r;

	memcpy(&machine, p->hdr + offsetof(Elf64_Ehdr, e_machine),
	       sizeof(machine));
	if (p->hdr[EI_CLASS] != FDX_CLASS ||
	    (FDX_MACHINE != EM_NONE && machine != FDX_MACHINE)) {
		p->kind = FDX_FOREIGN;
		return 0;
	}
	if (FDX_CLASS != ELFCLASS64)
		return 0;		/* unknown: 64-bit hosts only */
	memcpy(&eh, p->hdr, sizeof(eh));
	if ((eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || !eh.e_phnum ||
	    eh.e_phnum > FDX_MAX_PHDRS)
		return 0;
	r = read_full(rd, ctx, ph, eh.e_phnum * sizeof(Elf64_Phdr),
		      eh.e_phoff);
	if (r < 0)
		return r == -ENOEXEC ? 0 : r;
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_INTERP)
			interp = true;
		if (ph[i].p_type != PT_NOTE || go ||
		    ph[i].p_filesz > sizeof(notes) ||
		    read_full(rd, ctx, notes, ph[i].p_filesz,
			      ph[i].p_offset) < 0)
			continue;
		go = go_note(notes, ph[i].p_filesz, ph[i].p_align == 8 ? 8 : 4);
	}
	p->kind = go ? FDX_GO : interp ? FDX_DYNAMIC : FDX_STATIC;
	if (go && (flags & FDX_PROBE_LIBS))
		p->libs = go_libs(rd, ctx, &eh);
	return 0;
}

int fdx_probe(fdx_read_fn rd, void *ctx, unsigned int flags,
	      struct fdx_probe *p)
{
	char *arg;
	ssize_t n;

	memset(p, 0, sizeof(*p));
	n = rd(ctx, p->hdr, FDX_HDR_SIZE, 0);
	if (n < 0)
		return (int)n;
	if (n >= 2 && p->hdr[0] == '#' && p->hdr[1] == '!') {
		if (fdx_parse_interp(p->hdr, &p->interp, &arg) == 0)
			p->kind = FDX_SCRIPT;
		return 0;
	}
	if (n < (ssize_t)sizeof(Elf64_Ehdr) || memcmp(p->hdr, ELFMAG, SELFMAG))
		return 0;
	return probe_elf(rd, ctx, flags, p);
}

const char *fdx_kind_name(int kind)
{
	switch (kind) {
	case FDX_DYNAMIC:
		return "a dynamically linked program";
	case FDX_STATIC:
		return "a statically linked program";
	case FDX_GO:
		return "a Go program";
	case FDX_FOREIGN:
		return "a program of another ELF class or machine";
	case FDX_SCRIPT:
		return "a script";
	}
	return "not a program we know";
}

int fdx_policy(const char *value)
{
	if (value && !strcmp(value, "refuse"))
		return FDX_REFUSE;
	if (value && !strcmp(value, "allow"))
		return FDX_ALLOW;
	return FDX_WARN;
}

int fdx_verdict(const struct fdx_probe *p, int policy, const char *who,
		const char *path, char *msg, size_t size)
{
	bool daemon = p->kind == FDX_GO && p->libs;

	if (!fdx_unshimmed(p->kind) || policy == FDX_ALLOW)
		return 0;
	if (policy == FDX_REFUSE && !daemon) {
		snprintf(msg, size, "%s: %s: refused "
			 "(FUSEDEV_UNSHIMMED=refuse): %s, which libmountshim "
			 "cannot enter, would see the real directories under "
			 "emulated mountpoints", who, path,
			 fdx_kind_name(p->kind));
		return -EPERM;
	}
	snprintf(msg, size, "%s: %s is %s, which libmountshim cannot enter: "
		 "%s the real directories under emulated mountpoints", who,
		 path, fdx_kind_name(p->kind),
		 daemon ? "a FUSE daemon, it mounts through the emulator, but "
			  "its own file accesses see" : "it sees");
	return 1;
}

static inline bool spacetab(char ch)
{
	return ch == ' ' || ch == '\t';
}

int fdx_parse_interp(char *b, char **name, char **arg)
{
	char *nl = memchr(b, '\n', FDX_HDR_SIZE);
	char *p, *end;

	*arg = NULL;
	if (nl) {
		end = nl;
	} else {
		end = b + FDX_HDR_SIZE - 1;
		for (p = b + 2; p <= end && spacetab(*p); p++)
			;
		if (p > end)
			return -ENOEXEC;
		while (p <= end && !spacetab(*p) && *p)
			p++;
		if (p > end)
			return -ENOEXEC;	/* the name may be cut */
	}
	while (end > b + 2 && spacetab(end[-1]))
		end--;
	*end = '\0';
	for (p = b + 2; p < end && spacetab(*p); p++)
		;
	if (p >= end)
		return -ENOEXEC;
	*name = p;
	while (p < end && *p && !spacetab(*p))
		p++;
	if (p < end && *p) {
		*p++ = '\0';
		while (p < end && spacetab(*p))
			p++;
		if (p < end)
			*arg = p;	/* "" when a NUL comes first */
	}
	return 0;
}
