/* SPDX-License-Identifier: MIT */
/*
 * elf-symbols: the little of a 64-bit little-endian ELF file that attaching
 * needs: its load segments (to turn a mapping's address into a load bias),
 * its exported symbols (.dynsym: dlopen in libc, Py_Version, the agent's
 * entry point), its sections (.PyRuntime) and bytes at a virtual address.
 *
 * Files are read with pread, never mapped, and every offset and size read
 * from them is checked against the file before use: a mapped file of the
 * target is outside input. Never logs. Thread context: any.
 */
#pragma once

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file {
    int fd;
    uint64_t size;
    Elf64_Ehdr eh;
    Elf64_Phdr *ph; /* eh.e_phnum entries */
    Elf64_Shdr *sh; /* eh.e_shnum entries, NULL when the file has none */
    char *shstr;    /* section names */
    uint64_t shstr_size;
    Elf64_Sym *dynsym; /* NULL when the file exports nothing */
    size_t n_dynsym;
    char *dynstr;
    uint64_t dynstr_size;
    uint64_t first_vaddr; /* page-aligned p_vaddr of the first PT_LOAD */
};

/*
 * Open path (an x86-64 or aarch64 ELF; any ELFCLASS64 little-endian file).
 * Returns 0, -ENOEXEC (not such an ELF file, or a corrupt one), or -errno.
 * Free with elf_close.
 */
int elf_open(const char *path, struct elf_file *ret);
void elf_close(struct elf_file *f);

/*
 * A defined symbol of .dynsym by name (function or object; the default
 * version when there are several). Returns 0 with its st_value and st_size,
 * or -ENOENT.
 */
int elf_symbol(const struct elf_file *f, const char *name, uint64_t *ret_value, uint64_t *ret_size);

/* Call fn for every defined function symbol of .dynsym (name, value,
 * size). */
void elf_each_function(const struct elf_file *f,
                       void (*fn)(const char *name, uint64_t value, uint64_t size, void *data),
                       void *data);

/* A section by name: its address and size. Returns 0 or -ENOENT. */
int elf_section(const struct elf_file *f, const char *name, uint64_t *ret_addr, uint64_t *ret_size);

/* Read n bytes the file maps at virtual address vaddr (inside a PT_LOAD's
 * file part). Returns 0, -ENOENT (not in the file), or -errno. */
int elf_read_vaddr(const struct elf_file *f, uint64_t vaddr, void *buf, size_t n);
