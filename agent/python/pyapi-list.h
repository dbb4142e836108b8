/* SPDX-License-Identifier: MIT */
/*
 * Every CPython symbol the agent uses, one X-macro line each, with CPython's
 * own names so grep finds them. Expanded by pyapi.h (the function-pointer
 * table) and pyapi.c (the resolver).
 *
 *   PYAPI_FN(required, return type, name, (parameters))
 *   PYAPI_DATA(required, name)        a data symbol that is the object itself
 *                                     (a type object, None)
 *   PYAPI_DATA_PTR(required, name)    a data symbol that holds a pointer to the
 *                                     object (PyObject *PyExc_RuntimeError)
 *
 * Optional symbols exist only in some versions; their pointers are NULL
 * elsewhere and pycompat decides what to use instead.
 */

/* ---- life cycle and threads ------------------------------------------- */
PYAPI_FN(1, int, Py_IsInitialized, (void))
PYAPI_FN(1, const char *, Py_GetVersion, (void))
PYAPI_FN(0, int, _Py_IsFinalizing, (void)) /* 3.8 .. 3.12 */
PYAPI_FN(0, int, Py_IsFinalizing, (void))  /* 3.13+ */
PYAPI_FN(1, int, PyGILState_Ensure, (void))
PYAPI_FN(1, int, PyGILState_Check, (void))
PYAPI_FN(1, void *, PyGILState_GetThisThreadState, (void))
PYAPI_FN(1, void, PyGILState_Release, (int))
PYAPI_FN(0, void *, _PyThreadState_UncheckedGet, (void)) /* 3.8 .. 3.12 */
PYAPI_FN(0, void *, PyThreadState_GetUnchecked, (void))  /* 3.13+ */
PYAPI_FN(1, void *, PyEval_SaveThread, (void))
PYAPI_FN(1, void, PyEval_RestoreThread, (void *))
PYAPI_FN(1, void, PyThreadState_Clear, (void *))
PYAPI_FN(0, void, PyThreadState_DeleteCurrent, (void))
PYAPI_FN(1, int, Py_AddPendingCall, (int (*)(void *), void *))
PYAPI_FN(1, int, PySys_AddAuditHook, (int (*)(const char *, PyObject *, void *), void *))
PYAPI_FN(0, void *, PyInterpreterState_Get, (void))  /* 3.9+ */
PYAPI_FN(0, void *, _PyInterpreterState_Get, (void)) /* 3.8 */
PYAPI_FN(1, void *, PyInterpreterState_Main, (void))

/* ---- objects ------------------------------------------------------------ */
PYAPI_FN(1, void, Py_IncRef, (PyObject *))
PYAPI_FN(1, void, Py_DecRef, (PyObject *))
PYAPI_FN(1, PyObject *, PyObject_Type, (PyObject *))
PYAPI_FN(1, PyObject *, PyObject_GetAttr, (PyObject *, PyObject *))
PYAPI_FN(1, PyObject *, PyObject_GetAttrString, (PyObject *, const char *))
PYAPI_FN(1, PyObject *, PyObject_CallObject, (PyObject *, PyObject *))
PYAPI_FN(1, PyObject *, PyObject_Call, (PyObject *, PyObject *, PyObject *))
PYAPI_FN(1, PyObject *, PyObject_CallFunctionObjArgs, (PyObject *, ...))
PYAPI_FN(1, int, PyType_IsSubtype, (PyObject *, PyObject *))
PYAPI_FN(1, unsigned long, PyType_GetFlags, (PyObject *))
PYAPI_FN(1, void *, PyType_GetSlot, (PyObject *, int))
PYAPI_FN(0, PyObject *, PyType_GetDict, (PyObject *))                                /* 3.12+ */
PYAPI_FN(0, int, PyObject_GC_IsTracked, (PyObject *))                                /* 3.9+ */
PYAPI_FN(0, int, PyGC_Enable, (void))                                                /* 3.10+ */
PYAPI_FN(0, int, PyGC_Disable, (void))                                               /* 3.10+ */
PYAPI_FN(0, void, PyUnstable_GC_VisitObjects, (int (*)(PyObject *, void *), void *)) /* 3.12+ */
PYAPI_FN(0, PyObject *, PyFrame_GetVar, (PyObject *, PyObject *))                    /* 3.12+ */
PYAPI_FN(1, PyObject *, PyWeakref_NewRef, (PyObject *, PyObject *))
PYAPI_FN(1, PyObject *, PyWeakref_GetObject, (PyObject *)) /* borrowed */

/* ---- containers and scalars --------------------------------------------- */
PYAPI_FN(1, PyObject *, PyDict_New, (void))
PYAPI_FN(1, int, PyDict_Next, (PyObject *, Py_ssize_t *, PyObject **, PyObject **))
PYAPI_FN(1, Py_ssize_t, PyDict_Size, (PyObject *))
PYAPI_FN(1, PyObject *, PyDict_GetItem, (PyObject *, PyObject *)) /* borrowed */
PYAPI_FN(1, PyObject *, PyDict_GetItemString, (PyObject *, const char *))
PYAPI_FN(1, int, PyDict_SetItemString, (PyObject *, const char *, PyObject *))
PYAPI_FN(1, PyObject *, PyTuple_New, (Py_ssize_t))
PYAPI_FN(1, Py_ssize_t, PyTuple_Size, (PyObject *))
PYAPI_FN(1, PyObject *, PyTuple_GetItem, (PyObject *, Py_ssize_t))
PYAPI_FN(1, int, PyTuple_SetItem, (PyObject *, Py_ssize_t, PyObject *))
PYAPI_FN(1, PyObject *, PyList_New, (Py_ssize_t))
PYAPI_FN(1, Py_ssize_t, PyList_Size, (PyObject *))
PYAPI_FN(1, PyObject *, PyList_GetItem, (PyObject *, Py_ssize_t))
PYAPI_FN(1, int, PyList_Append, (PyObject *, PyObject *))
PYAPI_FN(1, PyObject *, PyMapping_GetItemString, (PyObject *, const char *))
PYAPI_FN(1, PyObject *, PyUnicode_FromString, (const char *))
PYAPI_FN(1, PyObject *, PyUnicode_InternFromString, (const char *))
PYAPI_FN(1, PyObject *, PyUnicode_FromStringAndSize, (const char *, Py_ssize_t))
PYAPI_FN(1, PyObject *, PyUnicode_DecodeUTF8, (const char *, Py_ssize_t, const char *))
PYAPI_FN(1, const char *, PyUnicode_AsUTF8AndSize, (PyObject *, Py_ssize_t *))
PYAPI_FN(1, Py_ssize_t, PyLong_AsSsize_t, (PyObject *))
PYAPI_FN(1, PyObject *, PyLong_FromLong, (long))
PYAPI_FN(1, PyObject *, PyBool_FromLong, (long))

/* ---- modules, errors, callables ------------------------------------------ */
PYAPI_FN(1, PyObject *, PyImport_GetModule, (PyObject *))
PYAPI_FN(1, PyObject *, PyImport_ImportModule, (const char *))
PYAPI_FN(1, PyObject *, PyModule_GetDict, (PyObject *))
PYAPI_FN(1, PyObject *, PyModule_Create2, (void *, int))
PYAPI_FN(1, PyObject *, PyCFunction_NewEx, (void *, PyObject *, PyObject *))
PYAPI_FN(1, PyObject *, PySys_GetObject, (const char *))
PYAPI_FN(1, PyObject *, PyErr_Occurred, (void))
PYAPI_FN(1, void, PyErr_Fetch, (PyObject **, PyObject **, PyObject **))
PYAPI_FN(1, void, PyErr_Restore, (PyObject *, PyObject *, PyObject *))
PYAPI_FN(1, void, PyErr_Clear, (void))
PYAPI_FN(1, void, PyErr_SetString, (PyObject *, const char *))
PYAPI_FN(1, PyObject *, PyObject_Str, (PyObject *))
/* tracemalloc's traceback of a memory block: (domain, address) -> tuple of
 * (filename, lineno), most recent first, or None. --trace-alloc. */
PYAPI_FN(0, PyObject *, _PyTraceMalloc_GetTraceback, (unsigned int, unsigned long))
PYAPI_FN(1, int, PyObject_IsTrue, (PyObject *))

/* ---- data symbols ---------------------------------------------------------- */
PYAPI_DATA(1, _Py_NoneStruct)
PYAPI_DATA(1, PyBaseObject_Type)
PYAPI_DATA(1, PyType_Type)
PYAPI_DATA(1, PyModule_Type)
PYAPI_DATA(1, PyTuple_Type)
PYAPI_DATA(1, PyList_Type)
PYAPI_DATA(1, PyDict_Type)
PYAPI_DATA(1, PySet_Type)
PYAPI_DATA(1, PyFrozenSet_Type)
PYAPI_DATA(1, PyUnicode_Type)
PYAPI_DATA(1, PyBytes_Type)
PYAPI_DATA(1, PyLong_Type)
PYAPI_DATA(1, PyBool_Type)
PYAPI_DATA(1, PyFloat_Type)
PYAPI_DATA(1, PyComplex_Type)
PYAPI_DATA(1, PyFunction_Type)
PYAPI_DATA(1, PyMethod_Type)
PYAPI_DATA(1, PyCode_Type)
PYAPI_DATA(1, PyCell_Type)
PYAPI_DATA(1, PyClassMethod_Type)
PYAPI_DATA(1, PyStaticMethod_Type)
PYAPI_DATA(1, PyProperty_Type)
PYAPI_DATA(1, PyCFunction_Type)
PYAPI_DATA_PTR(1, PyExc_RuntimeError)
