#!/usr/bin/python3
"""Write HDF5 files that exercise every storage variant the pure-Go reader
claims to read, with values given by formulas the Go test recomputes.

Usage: variants.py OUTDIR           (Debian's python3-h5py; files go to OUTDIR only)
       variants.py --small OUTDIR   (only small_<libver>.h5: fuzzing seeds)

For libver in earliest (superblock 0, object header v1, symbol-table
groups, v1 B-tree chunk index) and latest (superblock 3, object header v2,
compact/dense links and attributes, single-chunk / implicit / fixed-array /
extensible-array / v2-B-tree chunk indexes) it writes variants_<libver>.h5
and a manifest variants_<libver>.json listing every dataset, its kind,
shape and expected-value rule:
  int/uint: ((i*7) % 200) - 100 (signed) or (i*7) % 250 (unsigned)
  float:    i*0.25 - 3.5
  vstr:     "s{i}-ü";  fstr: "s{i}"
  bool:     i % 3 == 0
  fill:     the int rule for written elements, the fill value elsewhere
where i is the row-major element index.
"""
import json, sys
import numpy as np
import h5py

def ints(n, dt):
    i = np.arange(n, dtype=np.int64)
    if np.dtype(dt).kind == "u":
        return ((i * 7) % 250).astype(dt)
    return (((i * 7) % 200) - 100).astype(dt)

def floats(n, dt):
    return (np.arange(n, dtype=np.float64) * 0.25 - 3.5).astype(dt)

def main(outdir):
    for libver in ("earliest", "latest"):
        man = {"datasets": [], "attrs": [], "groups": []}
        path = "%s/variants_%s.h5" % (outdir, libver)
        with h5py.File(path, "w", libver=libver) as f:
            def ds(name, kind, shape, data=None, **kw):
                n = int(np.prod(shape))
                if data is None:
                    dt = kw.pop("dtype")
                    data = (floats if kind == "float" else ints)(n, dt).reshape(shape)
                f.create_dataset(name, data=data, **kw)
                man["datasets"].append({"path": name, "kind": kind, "shape": list(shape)})

            for dt in ("i1", "i2", "i4", "i8", ">i4", ">i8"):
                ds("types/" + dt.replace(">", "be_"), "int", (300,), dtype=dt)
            for dt in ("u1", "u2", "u4", "u8"):
                ds("types/" + dt, "uint", (300,), dtype=dt)
            for dt in ("f2", "f4", "f8", ">f4", ">f8"):
                ds("types/" + dt.replace(">", "be_"), "float", (300,), dtype=dt)
            n = 500
            f.create_dataset("types/vstr", data=np.array(["s%d-ü" % i for i in range(n)], dtype=object),
                             dtype=h5py.string_dtype())
            man["datasets"].append({"path": "types/vstr", "kind": "vstr", "shape": [n]})
            f.create_dataset("types/fstr", data=np.array([("s%d" % i).encode() for i in range(n)], dtype="S12"))
            man["datasets"].append({"path": "types/fstr", "kind": "fstr", "shape": [n]})
            f.create_dataset("types/bool", data=np.arange(n) % 3 == 0)
            man["datasets"].append({"path": "types/bool", "kind": "bool", "shape": [n]})
            f.create_dataset("types/scalar", data=np.int64(-100))
            man["datasets"].append({"path": "types/scalar", "kind": "int", "shape": []})
            f.create_dataset("types/empty", shape=(0,), dtype="f4")
            man["datasets"].append({"path": "types/empty", "kind": "float", "shape": [0]})
            f.create_dataset("types/empty_chunked", shape=(0,), maxshape=(None,), dtype="f4")
            man["datasets"].append({"path": "types/empty_chunked", "kind": "float", "shape": [0]})

            ds("filters/gzip", "float", (5000,), dtype="f4", chunks=(700,), compression="gzip")
            ds("filters/gzip_shuffle", "int", (5000,), dtype="i8", chunks=(700,), compression="gzip", shuffle=True)
            ds("filters/fletcher", "int", (5000,), dtype="i4", chunks=(700,), fletcher32=True)
            ds("filters/all", "float", (5000,), dtype="f8", chunks=(700,), compression="gzip", shuffle=True, fletcher32=True)
            ds("filters/lzf", "float", (5000,), dtype="f4", chunks=(700,), compression="lzf")
            ds("filters/lzf_shuffle", "int", (5000,), dtype="i2", chunks=(700,), compression="lzf", shuffle=True)
            f.create_dataset("filters/scaleoffset", data=ints(100, "i4"), chunks=(10,), scaleoffset=0)
            man["datasets"].append({"path": "filters/scaleoffset", "kind": "error", "shape": [100], "error": "scale-offset"})

            ds("nd/2d", "int", (23, 17), dtype="i2", chunks=(5, 4), compression="gzip", shuffle=True)
            ds("nd/2d_contig", "float", (23, 17), dtype="f8")
            ds("nd/3d", "float", (4, 5, 6), dtype="f8", chunks=(3, 2, 4), fletcher32=True)

            ds("idx/single", "int", (100,), dtype="i4", chunks=(100,))
            ds("idx/single_gzip", "int", (100,), dtype="i4", chunks=(100,), compression="gzip")
            ds("idx/farray", "int", (1000,), dtype="i4", chunks=(10,))
            ds("idx/farray_gzip", "float", (1000,), dtype="f4", chunks=(10,), compression="gzip")
            ds("idx/farray_paged", "int", (3000,), dtype="i4", chunks=(1,))
            ds("idx/farray_maxdims", "int", (100,), dtype="i4", chunks=(7,), maxshape=(200,))
            ds("idx/earray", "int", (1000,), dtype="i4", chunks=(10,), maxshape=(None,))
            ds("idx/earray_gzip", "float", (1000,), dtype="f8", chunks=(10,), maxshape=(None,), compression="gzip")
            ds("idx/earray_paged", "int", (140000,), dtype="i4", chunks=(1,), maxshape=(None,))
            ds("idx/earray_2d", "int", (40, 9), dtype="i4", chunks=(3, 4), maxshape=(None, 9))
            ds("idx/earray_2d_second", "int", (9, 40), dtype="i4", chunks=(4, 3), maxshape=(9, None))
            ds("idx/btree2", "int", (30, 20), dtype="i4", chunks=(7, 6), maxshape=(None, None))
            ds("idx/btree2_gzip", "float", (30, 20), dtype="f4", chunks=(7, 6), maxshape=(None, None), compression="gzip")

            # Implicit index: early allocation, no filters (low-level API).
            space = h5py.h5s.create_simple((100,))
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_chunk((10,))
            dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
            dsid = h5py.h5d.create(f.id, b"idx/implicit", h5py.h5t.STD_I32LE, space, dcpl=dcpl)
            dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, ints(100, "i4"))
            man["datasets"].append({"path": "idx/implicit", "kind": "int", "shape": [100]})
            # Compact layout.
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_layout(h5py.h5d.COMPACT)
            dsid = h5py.h5d.create(f.id, b"idx/compact", h5py.h5t.STD_I32LE, h5py.h5s.create_simple((50,)), dcpl=dcpl)
            dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, ints(50, "i4"))
            man["datasets"].append({"path": "idx/compact", "kind": "int", "shape": [50]})

            # Chunks never written read as the fill value.
            d = f.create_dataset("fill/partial", shape=(100,), dtype="i4", chunks=(10,), fillvalue=-5)
            d[:35] = ints(35, "i4")
            man["datasets"].append({"path": "fill/partial", "kind": "fill", "shape": [100], "written": 35, "fill": -5})
            d = f.create_dataset("fill/partial_gzip", shape=(100,), dtype="i4", chunks=(10,), fillvalue=7, compression="gzip")
            d[:35] = ints(35, "i4")
            man["datasets"].append({"path": "fill/partial_gzip", "kind": "fill", "shape": [100], "written": 35, "fill": 7})
            f.create_dataset("fill/never_written", shape=(20,), dtype="i4", fillvalue=3)
            man["datasets"].append({"path": "fill/never_written", "kind": "fill", "shape": [20], "written": 0, "fill": 3})

            # A group with many links (symbol table B-tree with internal
            # nodes; dense links with a fractal heap in the latest format).
            g = f.create_group("many")
            for k in range(300):
                g.create_dataset("d%03d" % k, data=np.array([k], dtype="i4"))
            man["groups"].append({"path": "many", "count": 300})

            # Many attributes (dense attribute storage in the latest format).
            g = f.create_group("attrs")
            for k in range(40):
                g.attrs["a%02d" % k] = np.int64(k * 3 - 7)
                man["attrs"].append({"path": "attrs", "name": "a%02d" % k, "kind": "int", "value": k * 3 - 7})
            g.attrs["s_vlen"] = "ü-text"
            man["attrs"].append({"path": "attrs", "name": "s_vlen", "kind": "str", "value": ["ü-text"]})
            g.attrs["s_list"] = np.array(["x", "yy", "zzz"], dtype=h5py.string_dtype())
            man["attrs"].append({"path": "attrs", "name": "s_list", "kind": "str", "value": ["x", "yy", "zzz"]})
            g.attrs["s_fixed"] = np.bytes_(b"fixed")
            man["attrs"].append({"path": "attrs", "name": "s_fixed", "kind": "str", "value": ["fixed"]})
            g.attrs["shape"] = np.array([3, 4], dtype="i8")
            man["attrs"].append({"path": "attrs", "name": "shape", "kind": "int", "value": [3, 4]})
            g.attrs["flag"] = np.bool_(True)
            man["attrs"].append({"path": "attrs", "name": "flag", "kind": "int", "value": [1]})
            g.attrs["real"] = np.float64(2.75)
            man["attrs"].append({"path": "attrs", "name": "real", "kind": "int", "value": [2]})
            g = f.create_group("few_attrs")
            g.attrs["one"] = "1"
            man["attrs"].append({"path": "few_attrs", "name": "one", "kind": "str", "value": ["1"]})
        with open("%s/variants_%s.json" % (outdir, libver), "w") as out:
            json.dump(man, out, ensure_ascii=False)

def small(outdir):
    """Small files with one of each structure, as fuzzing seeds."""
    for libver in ("earliest", "latest"):
        with h5py.File("%s/small_%s.h5" % (outdir, libver), "w", libver=libver) as f:
            f.create_dataset("c", data=ints(64, "i4"), chunks=(16,), compression="gzip", shuffle=True)
            f.create_dataset("e", data=floats(40, "f4"), chunks=(8,), maxshape=(None,))
            f.create_dataset("b", data=ints(30, "i2").reshape(5, 6), chunks=(2, 4), maxshape=(None, None), fletcher32=True)
            f.create_dataset("s", data=np.array(["a", "bb", "ccc"], dtype=object), dtype=h5py.string_dtype())
            f.create_dataset("l", data=floats(16, "f8"), chunks=(16,), compression="lzf")
            g = f.create_group("g")
            for k in range(10):
                g.create_dataset("d%d" % k, data=np.array([k], dtype="i1"))
                g.attrs["a%d" % k] = k
            g.attrs["encoding-type"] = "csr_matrix"

if __name__ == "__main__":
    if sys.argv[1] == "--small":
        small(sys.argv[2])
    else:
        main(sys.argv[1])
        small(sys.argv[1])
