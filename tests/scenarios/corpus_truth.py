# SPDX-License-Identifier: MIT
"""Ground truth for the real-world corpus (corpus_*.py victims).

A corpus victim drives a library installed from Debian through its public
API, the way its users do, and cannot name beforehand every object the
library puts into its caches. So, once the workload is done, it asks this
module to register every lru_cache wrapper of the library that is alive
(found by a walk of gc.get_objects()) with the kind agent/README.md defines, and to
track, through weak references, every object found as the first argument
of their keys. The numbers then come from e2e_truth.Truth as for every
other victim: clear the registered caches, gc.collect(), and count which
tracked objects died. The agent's rows are compared with that.

Debian's libraries live in /usr/lib/python3/dist-packages (for python3.11;
the pure-Python ones import on other interpreters too). It goes into
sys.path before the interpreter's own site-packages (which may hold other
versions of the same libraries), after the standard library, and
debian() checks that a library came from there.
"""
import functools
import gc
import sys
import types

DIST = "/usr/lib/python3/dist-packages"
if DIST not in sys.path:
    _site = [i for i, p in enumerate(sys.path) if p.endswith("site-packages")]
    sys.path.insert(_site[0] if _site else len(sys.path), DIST)

from e2e_truth import Truth, _cache_dict, first_arg, is_self_candidate  # noqa: E402

LRU = functools._lru_cache_wrapper


def _class_kinds():
    """id(wrapper) -> kind for every wrapper in a class namespace."""
    kinds = {}
    seen = set()
    stack = [object]
    while stack:
        cls = stack.pop()
        if id(cls) in seen:
            continue
        seen.add(id(cls))
        try:
            stack.extend(type.__subclasses__(cls))
        except TypeError:
            pass
        for value in list(vars(cls).values()):
            if isinstance(value, LRU):
                kinds.setdefault(id(value), "method")
            elif isinstance(value, classmethod) and isinstance(value.__func__, LRU):
                kinds.setdefault(id(value.__func__), "classmethod")
            elif isinstance(value, staticmethod) and isinstance(value.__func__, LRU):
                kinds.setdefault(id(value.__func__), "staticmethod")
            elif isinstance(value, property):
                for f in (value.fget, value.fset, value.fdel):
                    if isinstance(f, LRU):
                        kinds.setdefault(id(f), "method")
    return kinds


def kind_of(wrapper, class_kinds):
    if isinstance(getattr(wrapper, "__wrapped__", None), types.MethodType):
        return "per-instance"
    return class_kinds.get(id(wrapper), "function")


def debian(*modules):
    """Fail unless every module was imported from Debian's packages."""
    for m in modules:
        if not m.__file__.startswith(DIST + "/"):
            raise RuntimeError("%s comes from %s, not from Debian's %s"
                               % (m.__name__, m.__file__, DIST))


class CorpusTruth(Truth):
    def register(self, modules, skip=()):
        """Register every live wrapper whose __module__ is one of `modules`
        or below it, except the qualnames in `skip`; track their selves.
        Returns {qualname: kind} of what was registered."""
        class_kinds = _class_kinds()
        found = {}
        wrappers = [o for o in gc.get_objects() if isinstance(o, LRU)]
        for w in wrappers:
            module = getattr(w, "__module__", None) or ""
            qualname = getattr(w, "__qualname__", None)
            if qualname is None or qualname in skip:
                continue
            if not any(module == m or module.startswith(m + ".") for m in modules):
                continue
            kind = kind_of(w, class_kinds)
            self.cache(w, kind)
            found[qualname] = kind
            for key in list(_cache_dict(w)):
                obj = first_arg(key)
                ref = self.refs.get(id(obj))
                if is_self_candidate(obj) and (ref is None or ref() is not obj):
                    self.track(obj)  # TypeError: no weak reference possible
        wrappers = w = key = obj = None
        return found
