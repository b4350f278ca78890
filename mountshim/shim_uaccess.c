/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libmountshim: the caller's memory, read and written as the kernel's
 * uaccess does it (strncpy_from_user, copy_from_user, copy_to_user): a
 * bad pointer (NULL, unmapped, a string that runs into an unmapped page,
 * a read-only buffer to write) is -EFAULT, never a fault in the library.
 *
 * The copies are small assembler loops listed in an exception table, as
 * the kernel's are: a SIGSEGV or SIGBUS raised by one of their
 * instructions resumes at the loop's fixup, which returns the error.
 * Nothing is checked beforehand, so a good pointer costs the copy and no
 * system call.  The handler is installed when the library becomes active
 * and stays the installed one: the program's own SIGSEGV and SIGBUS
 * actions are kept here by the sigaction family's wrappers (sigaction,
 * signal, sigset, ...), mirrored into the real action's flags and mask,
 * and applied by the handler to every other fault as the kernel would
 * have applied them (SIG_DFL: the fault is taken again with the default
 * action, so the process dies of it with its core; a handler: called
 * with the kernel's arguments, on the stack and with the mask the kernel
 * chose from its flags).  Runtimes that install their handler with raw
 * system calls do it before the library's constructor (ASan) or forward
 * faults of foreign code to the handler they found (Go's runtime), so
 * they keep working.
 *
 * Where the handler cannot serve, the copies ask the kernel instead
 * (process_vm_readv/process_vm_writev on the process itself, one system
 * call per copy): under valgrind (whose checker would report the bad
 * access before the signal), in a thread that blocks SIGSEGV or SIGBUS
 * (the kernel kills a process whose blocked fault signal is raised; the
 * mask is followed through the sigprocmask/pthread_sigmask wrappers),
 * and on processors without the assembler loops.
 */
#include "shim.h"

#include <sys/syscall.h>
#include <ucontext.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

/* ---- the copy loops ------------------------------------------------------
 *
 * __shim_ustrncpy(dst, src, size): bytes up to and including a NUL; the
 *	string's length, @size when no NUL came in @size bytes, -EFAULT.
 *	Aligned words where it can (strncpy_from_user's way: an aligned
 *	word never reaches into the next page).
 * __shim_ucopy(dst, src, n): @n bytes; the number NOT copied (0 when
 *	all were): rep movsb stops precisely at the faulting byte.
 * __shim_uprobe_w(p): an atomic add of 0 to the byte at @p, which faults
 *	unless it is writable and changes nothing; 0 or -EFAULT.
 */
#if defined(__x86_64__)
#define SHIM_UACCESS_ASM	1
__asm__(
	"	.text\n"
	"	.p2align 4\n"
	"	.hidden __shim_ustrncpy\n"
	"	.type __shim_ustrncpy, @function\n"
	"__shim_ustrncpy:\n"
	"	xorl %eax, %eax\n"
	"	movabsq $0x0101010101010101, %r8\n"
	"	movabsq $0x8080808080808080, %r9\n"
	/* bytes, until the source is aligned */
	"1:	cmpq %rdx, %rax\n"
	"	jae 9f\n"
	"	leaq (%rsi,%rax), %rcx\n"
	"	testb $7, %cl\n"
	"	jz 4f\n"
	".Lshim_ustr_fault1:\n"
	"	movzbl (%rsi,%rax), %ecx\n"
	"	movb %cl, (%rdi,%rax)\n"
	"	testb %cl, %cl\n"
	"	jz 8f\n"
	"	incq %rax\n"
	"	jmp 1b\n"
	/* aligned words (one never spans two pages) without a zero
	 * byte; the word with the NUL goes bytewise */
	"4:	leaq 8(%rax), %rcx\n"
	"	cmpq %rdx, %rcx\n"
	"	ja 7f\n"
	".Lshim_ustr_fault2:\n"
	"	movq (%rsi,%rax), %rcx\n"
	"	movq %rcx, %r10\n"
	"	subq %r8, %r10\n"
	"	movq %rcx, %r11\n"
	"	notq %r11\n"
	"	andq %r11, %r10\n"
	"	movq %rcx, (%rdi,%rax)\n"
	"	andq %r9, %r10\n"
	"	jnz 5f\n"
	"	addq $8, %rax\n"
	"	jmp 4b\n"
	/* the NUL's word is stored whole: its lowest flagged byte is the
	 * first zero one */
	"5:	bsfq %r10, %r10\n"
	"	shrq $3, %r10\n"
	"	addq %r10, %rax\n"
	"	ret\n"
	/* bytes again: the last ones before @size */
	"7:	cmpq %rdx, %rax\n"
	"	jae 9f\n"
	".Lshim_ustr_fault3:\n"
	"	movzbl (%rsi,%rax), %ecx\n"
	"	movb %cl, (%rdi,%rax)\n"
	"	testb %cl, %cl\n"
	"	jz 8f\n"
	"	incq %rax\n"
	"	jmp 7b\n"
	"8:	ret\n"
	"9:	movq %rdx, %rax\n"
	"	ret\n"
	".Lshim_ustr_fixup:\n"
	"	movq $-14, %rax\n"
	"	ret\n"
	"	.size __shim_ustrncpy, .-__shim_ustrncpy\n"
	"\n"
	"	.p2align 4\n"
	"	.hidden __shim_ucopy\n"
	"	.type __shim_ucopy, @function\n"
	"__shim_ucopy:\n"
	"	movq %rdx, %rcx\n"
	".Lshim_ucopy_fault:\n"
	"	rep movsb\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	".Lshim_ucopy_fixup:\n"
	"	movq %rcx, %rax\n"
	"	ret\n"
	"	.size __shim_ucopy, .-__shim_ucopy\n"
	"\n"
	"	.p2align 4\n"
	"	.hidden __shim_uprobe_w\n"
	"	.type __shim_uprobe_w, @function\n"
	"__shim_uprobe_w:\n"
	"	xorl %eax, %eax\n"
	".Lshim_uprobe_fault:\n"
	"	lock addb $0, (%rdi)\n"
	"	ret\n"
	".Lshim_uprobe_fixup:\n"
	"	movq $-14, %rax\n"
	"	ret\n"
	"	.size __shim_uprobe_w, .-__shim_uprobe_w\n"
	"\n"
	/* the exception table: faulting instruction, where to resume */
	"	.section .data.rel.ro,\"aw\"\n"
	"	.p2align 3\n"
	"	.hidden __shim_extable\n"
	"__shim_extable:\n"
	"	.quad .Lshim_ustr_fault1, .Lshim_ustr_fixup\n"
	"	.quad .Lshim_ustr_fault2, .Lshim_ustr_fixup\n"
	"	.quad .Lshim_ustr_fault3, .Lshim_ustr_fixup\n"
	"	.quad .Lshim_ucopy_fault, .Lshim_ucopy_fixup\n"
	"	.quad .Lshim_uprobe_fault, .Lshim_uprobe_fixup\n"
	"	.text\n");

long __shim_ustrncpy(char *dst, const char *src, size_t size);
size_t __shim_ucopy(void *dst, const void *src, size_t n);
long __shim_uprobe_w(void *p);

struct extable_ent {
	uintptr_t insn, fixup;
};

extern const struct extable_ent __shim_extable[5];

static inline uintptr_t *uc_pc(ucontext_t *uc)
{
	return (uintptr_t *)&uc->uc_mcontext.gregs[REG_RIP];
}
#else
#define SHIM_UACCESS_ASM	0
#endif

/* ---- when the loops may run ---------------------------------------------- */

/* The handler is installed (never again uninstalled while active). */
static int fixup_ready;
/* This thread blocks SIGSEGV or SIGBUS: 1, 0, or -1 not known yet.
 * The library is preloaded: its TLS is static. */
static __thread signed char fault_blocked
	__attribute__((tls_model("initial-exec"))) = -1;

static bool mask_blocks_faults(const sigset_t *m)
{
	return sigismember(m, SIGSEGV) == 1 || sigismember(m, SIGBUS) == 1;
}

/* May a fault of ours be caught in this thread? */
static inline bool can_fixup(void)
{
	if (!SHIM_UACCESS_ASM ||
	    !__atomic_load_n(&fixup_ready, __ATOMIC_ACQUIRE))
		return false;
	if (unlikely(fault_blocked < 0)) {
		sigset_t cur;

		if (REAL(pthread_sigmask)(SIG_BLOCK, NULL, &cur) != 0)
			return false;
		fault_blocked = mask_blocks_faults(&cur);
	}
	return !fault_blocked;
}

/* ---- the kernel's copies, for when the loops cannot run -------------------
 *
 * process_vm_readv and process_vm_writev of the process itself check
 * the remote side as a system call checks its arguments: -EFAULT for a
 * bad one, partial counts at a bad page.  Never across a page boundary
 * at once, so that a count is exact.
 */
static size_t page_left(const void *p)
{
	return 4096 - ((uintptr_t)p & 4095);
}

/* Bytes moved before the first bad page (both directions). */
static size_t vm_copy(void *dst, const void *src, size_t n, bool to_user)
{
	size_t done = 0;

	while (done < n) {
		const char *s = (const char *)src + done;
		char *d = (char *)dst + done;
		size_t chunk = n - done;
		struct iovec l, r;
		ssize_t k;

		if (chunk > page_left(to_user ? (void *)d : (const void *)s))
			chunk = page_left(to_user ? (void *)d : (const void *)s);
		l.iov_base = to_user ? (void *)s : d;
		l.iov_len = chunk;
		r.iov_base = to_user ? d : (void *)s;
		r.iov_len = chunk;
		k = to_user ? syscall(SYS_process_vm_writev, getpid(), &l, 1,
				      &r, 1, 0) :
			      syscall(SYS_process_vm_readv, getpid(), &l, 1,
				      &r, 1, 0);
		if (k < 0 && (errno == ENOSYS || errno == EPERM)) {
			/* no way to ask: copy, as the library did before */
			memcpy(d, s, chunk);
			k = chunk;
		}
		if (k <= 0)
			break;
		done += k;
		if ((size_t)k < chunk)
			break;
	}
	return done;
}

static long vm_strncpy(char *dst, const char *src, size_t size)
{
	size_t done = 0;

	while (done < size) {
		size_t chunk = size - done, got;
		char *nul;

		if (chunk > page_left(src + done))
			chunk = page_left(src + done);
		got = vm_copy(dst + done, src + done, chunk, false);
		nul = memchr(dst + done, 0, got);
		if (nul)
			return nul - dst;
		if (got < chunk)
			return -EFAULT;
		done += got;
	}
	return size;
}

/* ---- the interface ------------------------------------------------------- */

long shim_strncpy_from_user(char *dst, const char *src, size_t size)
{
	long r;
	int e;

#if SHIM_UACCESS_ASM
	if (likely(can_fixup()))
		return __shim_ustrncpy(dst, src, size);
#endif
	e = errno;
	r = vm_strncpy(dst, src, size);
	errno = e;
	return r;
}

size_t shim_copy_from_user(void *dst, const void *src, size_t n)
{
	size_t done;
	int e;

#if SHIM_UACCESS_ASM
	if (likely(can_fixup()))
		return __shim_ucopy(dst, src, n);
#endif
	e = errno;
	done = vm_copy(dst, src, n, false);
	errno = e;
	return n - done;
}

size_t shim_copy_to_user(void *dst, const void *src, size_t n)
{
	size_t done;
	int e;

#if SHIM_UACCESS_ASM
	if (likely(can_fixup()))
		return __shim_ucopy(dst, src, n);
#endif
	e = errno;
	done = vm_copy(dst, src, n, true);
	errno = e;
	return n - done;
}

/* One byte per page: reading it back through the kernel when needed. */
size_t shim_user_readable(const void *p, size_t n)
{
	const char *c = p;
	size_t done = 0;
	char b;

	while (done < n) {
		size_t chunk = page_left(c + done);

		if (shim_copy_from_user(&b, c + done, 1))
			break;
		done += chunk < n - done ? chunk : n - done;
	}
	return done;
}

size_t shim_user_writable(void *p, size_t n)
{
	char *c = p;
	size_t done = 0;

	while (done < n) {
		size_t chunk = page_left(c + done);
		bool ok;

#if SHIM_UACCESS_ASM
		if (likely(can_fixup())) {
			ok = __shim_uprobe_w(c + done) == 0;
		} else
#endif
		{
			char b;

			/* the same byte back: a write the kernel checks */
			ok = vm_copy(&b, c + done, 1, false) == 1 &&
			     vm_copy(c + done, &b, 1, true) == 1;
		}
		if (!ok)
			break;
		done += chunk < n - done ? chunk : n - done;
	}
	return done;
}

/* ---- the program's SIGSEGV and SIGBUS --------------------------------------
 *
 * What the program asked for, under a seqlock: the handler reads it
 * without a lock (a writer blocks every signal while it writes).
 */
struct prog_sig {
	uint32_t seq;
	struct sigaction act;
	int reset;			/* SA_RESETHAND fired: act is SIG_DFL */
	bool intr;			/* siginterrupt(sig, 1) */
};

static struct prog_sig prog_segv, prog_bus;
static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;

static struct prog_sig *prog_of(int sig)
{
	return sig == SIGSEGV ? &prog_segv : sig == SIGBUS ? &prog_bus : NULL;
}

static void prog_read(struct prog_sig *p, struct sigaction *out)
{
	uint32_t seq;

	do {
		seq = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
		memcpy(out, &p->act, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) || __atomic_load_n(&p->seq, __ATOMIC_RELAXED) != seq);
	if (__atomic_load_n(&p->reset, __ATOMIC_ACQUIRE)) {
		memset(out, 0, sizeof(*out));
		out->sa_handler = SIG_DFL;
	}
}

static void prog_write(struct prog_sig *p, const struct sigaction *act)
{
	__atomic_store_n(&p->seq, p->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(&p->act, act, sizeof(*act));
	__atomic_store_n(&p->seq, p->seq + 1, __ATOMIC_RELEASE);
}

static void fault_handler(int sig, siginfo_t *si, void *ctx);

/* The real action standing for @prog: our handler with its flags and
 * mask, as the kernel would deliver its signal. */
static void real_action(const struct sigaction *prog, struct sigaction *out)
{
	memset(out, 0, sizeof(*out));
	out->sa_sigaction = fault_handler;
	out->sa_flags = SA_SIGINFO;
	sigemptyset(&out->sa_mask);
	if (prog->sa_handler != SIG_DFL && prog->sa_handler != SIG_IGN) {
		out->sa_flags |= prog->sa_flags &
				 (SA_ONSTACK | SA_NODEFER | SA_RESTART);
		out->sa_mask = prog->sa_mask;
	}
}

/*
 * sigaction(2) of SIGSEGV or SIGBUS while the handler is ours: @act
 * becomes the program's action, @old gets the one before.  Returns 0 or
 * -errno.
 */
static int prog_sigaction(int sig, const struct sigaction *act,
			  struct sigaction *old)
{
	struct prog_sig *p = prog_of(sig);
	struct sigaction cur, real;
	sigset_t all, omask;
	int r = 0;

	/* A vfork child shares our memory, not our signal actions: its
	 * own action is its business (it is about to exec or exit). */
	if (unlikely(shim_vfork_child())) {
		prog_read(p, &cur);
		if (act && REAL(sigaction)(sig, act, NULL) < 0)
			return -errno;
		if (old)
			*old = cur;
		return 0;
	}
	sigfillset(&all);
	REAL(pthread_sigmask)(SIG_BLOCK, &all, &omask);
	pthread_mutex_lock(&sig_lock);
	prog_read(p, &cur);
	if (act) {
		real_action(act, &real);
		if (REAL(sigaction)(sig, &real, NULL) < 0) {
			r = -errno;
		} else {
			prog_write(p, act);
			__atomic_store_n(&p->reset, 0, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&sig_lock);
	REAL(pthread_sigmask)(SIG_SETMASK, &omask, NULL);
	if (!r && old)
		*old = cur;
	return r;
}

/* Apply the program's action to a fault that is not ours. */
static void fault_chain(int sig, siginfo_t *si, void *ctx)
{
	struct prog_sig *p = prog_of(sig);
	struct sigaction act, dfl = { .sa_handler = SIG_DFL };

	prog_read(p, &act);
	if (act.sa_handler == SIG_IGN && si->si_code <= 0)
		return;			/* sent, and ignored */
	if (act.sa_handler == SIG_DFL || act.sa_handler == SIG_IGN) {
		/* The default action: a fault recurs when we return, a
		 * sent signal is sent again, and stays pending until then
		 * (it is blocked while we run). */
		REAL(sigaction)(sig, &dfl, NULL);
		if (si->si_code <= 0)
			syscall(SYS_rt_tgsigqueueinfo, getpid(),
				syscall(SYS_gettid), sig, si);
		return;
	}
	if (act.sa_flags & SA_RESETHAND) {
		/* delivered once: the kernel resets it as it delivers (no
		 * writer's lock here: a flag that prog_read honours) */
		struct sigaction real;

		__atomic_store_n(&p->reset, 1, __ATOMIC_RELEASE);
		real_action(&dfl, &real);
		REAL(sigaction)(sig, &real, NULL);
	}
	if (act.sa_flags & SA_SIGINFO)
		act.sa_sigaction(sig, si, ctx);
	else
		act.sa_handler(sig);
}

static void fault_handler(int sig, siginfo_t *si, void *ctx)
{
#if SHIM_UACCESS_ASM
	uintptr_t *pc = uc_pc(ctx);
	size_t i;

	/* A fault (si_code > 0: raised by the kernel, SI_KERNEL for a
	 * non-canonical address) of one of our loops: resume at its
	 * fixup. */
	if (si->si_code > 0)
		for (i = 0; i < ARRAY_SIZE(__shim_extable); i++)
			if (*pc == __shim_extable[i].insn) {
				*pc = __shim_extable[i].fixup;
				return;
			}
#endif
	fault_chain(sig, si, ctx);
}

/*
 * $FUSEDEV_UACCESS: "kernel" copies through the kernel always and leaves
 * SIGSEGV and SIGBUS alone (for a program whose own fault handling
 * conflicts); "fixup" takes the fixups even under valgrind.
 */
void shim_uaccess_init(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS };
	const char *how = getenv("FUSEDEV_UACCESS");
	struct sigaction real;
	size_t i;

	if (!SHIM_UACCESS_ASM || (how && !strcmp(how, "kernel")) ||
	    (RUNNING_ON_VALGRIND && !(how && !strcmp(how, "fixup"))))
		return;
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		struct prog_sig *p = prog_of(sigs[i]);
		struct sigaction cur;

		if (REAL(sigaction)(sigs[i], NULL, &cur) < 0)
			return;
		real_action(&cur, &real);
		p->act = cur;
		if (REAL(sigaction)(sigs[i], &real, NULL) < 0)
			return;
	}
	__atomic_store_n(&fixup_ready, 1, __ATOMIC_RELEASE);
	SHIM_DBG(~0u, "fault fixups ready");
}

/* ---- the wrappers ---------------------------------------------------------
 *
 * Only SIGSEGV and SIGBUS, and only while our handler is installed, are
 * kept here; everything else reaches the C library unchanged.
 */
static inline bool ours(int sig)
{
	return (sig == SIGSEGV || sig == SIGBUS) &&
	       __atomic_load_n(&fixup_ready, __ATOMIC_ACQUIRE);
}

#define WRAP_SIGACTION(name)						\
SHIM_EXPORT int name(int sig, const struct sigaction *act,		\
		     struct sigaction *old)				\
{									\
	int e = errno;							\
									\
	if (likely(!ours(sig)))						\
		return REAL(name)(sig, act, old);			\
	return shim_result(prog_sigaction(sig, act, old), e);		\
}

WRAP_SIGACTION(sigaction)
WRAP_SIGACTION(__sigaction)

/* signal(3) as glibc makes it: BSD semantics. */
static __sighandler_t bsd_signal_of(int sig, __sighandler_t h)
{
	struct sigaction act = { .sa_handler = h }, old;
	int r;

	if (h == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	act.sa_flags = prog_of(sig)->intr ? 0 : SA_RESTART;
	r = prog_sigaction(sig, &act, &old);
	if (r < 0) {
		errno = -r;
		return SIG_ERR;
	}
	return old.sa_handler;
}

#define WRAP_SIGNAL(name)						\
SHIM_EXPORT __sighandler_t name(int sig, __sighandler_t h)		\
{									\
	if (likely(!ours(sig)))						\
		return REAL(name)(sig, h);				\
	return bsd_signal_of(sig, h);					\
}

WRAP_SIGNAL(signal)
WRAP_SIGNAL(bsd_signal)
WRAP_SIGNAL(ssignal)

/* sysv_signal(3): reset on delivery, not blocked while handled. */
#define WRAP_SYSV_SIGNAL(name)						\
SHIM_EXPORT __sighandler_t name(int sig, __sighandler_t h)		\
{									\
	struct sigaction act = { .sa_handler = h }, old;		\
	int r;								\
									\
	if (likely(!ours(sig)))						\
		return REAL(name)(sig, h);				\
	if (h == SIG_ERR) {						\
		errno = EINVAL;						\
		return SIG_ERR;						\
	}								\
	sigemptyset(&act.sa_mask);					\
	act.sa_flags = SA_RESETHAND | SA_NODEFER;			\
	r = prog_sigaction(sig, &act, &old);				\
	if (r < 0) {							\
		errno = -r;						\
		return SIG_ERR;						\
	}								\
	return old.sa_handler;						\
}

WRAP_SYSV_SIGNAL(sysv_signal)
WRAP_SYSV_SIGNAL(__sysv_signal)

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
SHIM_EXPORT int sigignore(int sig)
{
	struct sigaction act = { .sa_handler = SIG_IGN };
	int e = errno;

	if (likely(!ours(sig)))
		return REAL(sigignore)(sig);
	sigemptyset(&act.sa_mask);
	return shim_result(prog_sigaction(sig, &act, NULL), e);
}

SHIM_EXPORT int siginterrupt(int sig, int flag)
{
	struct sigaction act;
	int e = errno, r;

	if (likely(!ours(sig)))
		return REAL(siginterrupt)(sig, flag);
	pthread_mutex_lock(&sig_lock);
	prog_of(sig)->intr = flag != 0;
	pthread_mutex_unlock(&sig_lock);
	prog_read(prog_of(sig), &act);
	if (flag)
		act.sa_flags &= ~SA_RESTART;
	else
		act.sa_flags |= SA_RESTART;
	r = prog_sigaction(sig, &act, NULL);
	return shim_result(r, e);
}

/* sigset(3): SIG_HOLD blocks; anything else is set and unblocks. */
SHIM_EXPORT __sighandler_t sigset(int sig, __sighandler_t disp)
{
	struct sigaction act = { .sa_handler = disp }, old;
	sigset_t one, omask;
	int r;

	if (likely(!ours(sig)))
		return REAL(sigset)(sig, disp);
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (disp == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &one, &omask) < 0)
			return SIG_ERR;
		if (sigismember(&omask, sig))
			return SIG_HOLD;
		prog_read(prog_of(sig), &old);
		return old.sa_handler;
	}
	if (disp == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&act.sa_mask);
	r = prog_sigaction(sig, &act, &old);
	if (r < 0) {
		errno = -r;
		return SIG_ERR;
	}
	if (sigprocmask(SIG_UNBLOCK, &one, &omask) < 0)
		return SIG_ERR;
	return sigismember(&omask, sig) ? SIG_HOLD : old.sa_handler;
}
#pragma GCC diagnostic pop

/*
 * The signal mask, followed for SIGSEGV and SIGBUS only: the new mask
 * from the old one the call reports, no system call of our own.
 */
static void mask_changed(int how, const sigset_t *set, const sigset_t *old)
{
	sigset_t now;

	if (!set)
		return;
	if (how == SIG_SETMASK) {
		now = *set;
	} else {
		now = *old;
		if (how == SIG_BLOCK)
			sigorset(&now, &now, set);
		else {
			if (sigismember(set, SIGSEGV) == 1)
				sigdelset(&now, SIGSEGV);
			if (sigismember(set, SIGBUS) == 1)
				sigdelset(&now, SIGBUS);
		}
	}
	fault_blocked = mask_blocks_faults(&now);
}

#define WRAP_SIGMASK(name, ok)						\
SHIM_EXPORT int name(int how, const sigset_t *set, sigset_t *old)	\
{									\
	sigset_t o;							\
	int r;								\
									\
	if (unlikely(set && set == old)) {				\
		/* the new mask is gone: asked for when needed */	\
		r = REAL(name)(how, set, old);				\
		fault_blocked = -1;					\
		return r;						\
	}								\
	r = REAL(name)(how, set, old ? old : &o);			\
	if (r == ok)							\
		mask_changed(how, set, old ? old : &o);			\
	return r;							\
}

WRAP_SIGMASK(sigprocmask, 0)
WRAP_SIGMASK(pthread_sigmask, 0)
