/* SPDX-License-Identifier: MIT */
/*
 * elf-symbols: reading headers, .dynsym and sections with pread (see
 * elf-symbols.h). Tables are bounded (64 MiB) and checked to lie inside
 * the file; names are read only up to the end of their string table.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf-symbols.h"

#define ELF_MAX_TABLE (64u << 20)

static int
read_at(const struct elf_file *f, uint64_t off, void *buf, uint64_t n)
{
    char *p = buf;

    if (off > f->size || n > f->size - off) {
        return -ENOEXEC;
    }
    while (n > 0) {
        ssize_t r = pread(f->fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return r < 0 ? -errno : -ENOEXEC;
        }
        p += r;
        off += (uint64_t)r;
        n -= (uint64_t)r;
    }
    return 0;
}

/* Allocate and read a table of count entries of size entsize at off. */
static int
read_table(const struct elf_file *f, uint64_t off, uint64_t count, uint64_t entsize, void **ret)
{
    void *buf;
    int r;

    if (count == 0 || entsize == 0 || count > ELF_MAX_TABLE / entsize) {
        return -ENOEXEC;
    }
    buf = malloc(count * entsize + 1);
    if (buf == NULL) {
        return -ENOMEM;
    }
    r = read_at(f, off, buf, count * entsize);
    if (r < 0) {
        free(buf);
        return r;
    }
    ((char *)buf)[count * entsize] = '\0';
    *ret = buf;
    return 0;
}

void
elf_close(struct elf_file *f)
{
    if (f->fd >= 0) {
        close(f->fd);
    }
    free(f->ph);
    free(f->sh);
    free(f->shstr);
    free(f->dynsym);
    free(f->dynstr);
    memset(f, 0, sizeof(*f));
    f->fd = -1;
}

static int
load_dynsym(struct elf_file *f)
{
    for (size_t i = 0; i < f->eh.e_shnum; i++) {
        const Elf64_Shdr *s = &f->sh[i];
        if (s->sh_type != SHT_DYNSYM || s->sh_entsize != sizeof(Elf64_Sym) ||
            s->sh_link >= f->eh.e_shnum) {
            continue;
        }
        const Elf64_Shdr *str = &f->sh[s->sh_link];
        int r = read_table(f, s->sh_offset, s->sh_size / sizeof(Elf64_Sym), sizeof(Elf64_Sym),
                           (void **)&f->dynsym);
        if (r == 0) {
            r = read_table(f, str->sh_offset, str->sh_size, 1, (void **)&f->dynstr);
        }
        if (r < 0) {
            return r;
        }
        f->n_dynsym = s->sh_size / sizeof(Elf64_Sym);
        f->dynstr_size = str->sh_size;
        return 0;
    }
    return 0; /* nothing exported */
}

int
elf_open(const char *path, struct elf_file *ret)
{
    struct elf_file f = {.fd = -1};
    struct stat st;
    int r;

    f.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f.fd < 0) {
        return -errno;
    }
    if (fstat(f.fd, &st) < 0) {
        r = -errno;
        goto fail;
    }
    f.size = (uint64_t)st.st_size;
    r = read_at(&f, 0, &f.eh, sizeof(f.eh));
    if (r < 0) {
        goto fail;
    }
    if (memcmp(f.eh.e_ident, ELFMAG, SELFMAG) != 0 || f.eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        f.eh.e_ident[EI_DATA] != ELFDATA2LSB || f.eh.e_phentsize != sizeof(Elf64_Phdr) ||
        f.eh.e_phnum == 0) {
        r = -ENOEXEC;
        goto fail;
    }
    r = read_table(&f, f.eh.e_phoff, f.eh.e_phnum, sizeof(Elf64_Phdr), (void **)&f.ph);
    if (r < 0) {
        goto fail;
    }
    bool found = false;
    for (size_t i = 0; i < f.eh.e_phnum; i++) {
        if (f.ph[i].p_type == PT_LOAD) {
            uint64_t align = f.ph[i].p_align > 1 ? f.ph[i].p_align : 4096;
            f.first_vaddr = f.ph[i].p_vaddr & ~(align - 1);
            found = true;
            break;
        }
    }
    if (!found) {
        r = -ENOEXEC;
        goto fail;
    }
    if (f.eh.e_shnum > 0 && f.eh.e_shentsize == sizeof(Elf64_Shdr)) {
        r = read_table(&f, f.eh.e_shoff, f.eh.e_shnum, sizeof(Elf64_Shdr), (void **)&f.sh);
        if (r == 0 && f.eh.e_shstrndx < f.eh.e_shnum) {
            const Elf64_Shdr *s = &f.sh[f.eh.e_shstrndx];
            r = read_table(&f, s->sh_offset, s->sh_size, 1, (void **)&f.shstr);
            f.shstr_size = s->sh_size;
        }
        if (r == 0) {
            r = load_dynsym(&f);
        }
        if (r < 0) {
            goto fail;
        }
    } else {
        f.eh.e_shnum = 0;
    }
    *ret = f;
    return 0;
fail:
    elf_close(&f);
    return r;
}

static const char *
sym_name(const struct elf_file *f, const Elf64_Sym *s)
{
    if (s->st_name >= f->dynstr_size) {
        return "";
    }
    /* dynstr has a NUL appended by read_table: names end inside it. */
    return f->dynstr + s->st_name;
}

int
elf_symbol(const struct elf_file *f, const char *name, uint64_t *ret_value, uint64_t *ret_size)
{
    for (size_t i = 0; i < f->n_dynsym; i++) {
        const Elf64_Sym *s = &f->dynsym[i];
        int type = ELF64_ST_TYPE(s->st_info);
        if (s->st_shndx == SHN_UNDEF || s->st_value == 0 ||
            (type != STT_FUNC && type != STT_OBJECT && type != STT_GNU_IFUNC)) {
            continue;
        }
        if (strcmp(sym_name(f, s), name) == 0) {
            *ret_value = s->st_value;
            *ret_size = s->st_size;
            return 0;
        }
    }
    return -ENOENT;
}

void
elf_each_function(const struct elf_file *f,
                  void (*fn)(const char *name, uint64_t value, uint64_t size, void *data),
                  void *data)
{
    for (size_t i = 0; i < f->n_dynsym; i++) {
        const Elf64_Sym *s = &f->dynsym[i];
        if (s->st_shndx != SHN_UNDEF && s->st_value != 0 && ELF64_ST_TYPE(s->st_info) == STT_FUNC) {
            fn(sym_name(f, s), s->st_value, s->st_size, data);
        }
    }
}

int
elf_section(const struct elf_file *f, const char *name, uint64_t *ret_addr, uint64_t *ret_size)
{
    for (size_t i = 0; i < f->eh.e_shnum && f->shstr != NULL; i++) {
        const Elf64_Shdr *s = &f->sh[i];
        if (s->sh_name < f->shstr_size && strcmp(f->shstr + s->sh_name, name) == 0) {
            *ret_addr = s->sh_addr;
            *ret_size = s->sh_size;
            return 0;
        }
    }
    return -ENOENT;
}

int
elf_read_vaddr(const struct elf_file *f, uint64_t vaddr, void *buf, size_t n)
{
    for (size_t i = 0; i < f->eh.e_phnum; i++) {
        const Elf64_Phdr *p = &f->ph[i];
        if (p->p_type != PT_LOAD || vaddr < p->p_vaddr || vaddr - p->p_vaddr > p->p_filesz ||
            n > p->p_filesz - (vaddr - p->p_vaddr)) {
            continue;
        }
        return read_at(f, p->p_offset + (vaddr - p->p_vaddr), buf, n);
    }
    return -ENOENT;
}
