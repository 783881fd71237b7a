package hdf5

import (
	"fmt"
	"sort"
	"strings"
)

// Object is an open group or dataset.
type Object struct {
	f     *File
	addr  uint64
	path  string
	msgs  []message
	group bool
	links []link // groups: loaded on first use
	ds    *dataset
}

// Path returns the object's path from the root ("/" for the root group).
func (o *Object) Path() string { return o.path }

// IsGroup reports whether the object is a group.
func (o *Object) IsGroup() bool { return o.group }

// IsDataset reports whether the object is a dataset.
func (o *Object) IsDataset() bool { return o.ds != nil }

// Root opens the root group.
func (f *File) Root() (*Object, error) { return f.open(f.rootAddr, "/") }

func (f *File) open(addr uint64, path string) (*Object, error) {
	msgs, err := f.readHeader(addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	o := &Object{f: f, addr: addr, path: path, msgs: msgs}
	if findMessage(msgs, msgSymbolTable) != nil || findMessage(msgs, msgLinkInfo) != nil {
		o.group = true
		return o, nil
	}
	if findMessage(msgs, msgDataspace) != nil && findMessage(msgs, msgDatatype) != nil {
		if o.ds, err = parseDataset(f, msgs); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return o, nil
}

// loadLinks lists the group's links: symbol table (old-style groups),
// link messages (compact) or a fractal heap indexed by a v2 B-tree (dense).
func (o *Object) loadLinks() ([]link, error) {
	if o.links != nil || !o.group {
		return o.links, nil
	}
	f := o.f
	var links []link
	for i := range o.msgs {
		m := &o.msgs[i]
		switch m.typ {
		case msgSymbolTable:
			l, err := f.symbolTableLinks(m)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.path, err)
			}
			links = append(links, l...)
		case msgLink:
			l, err := parseLink(f, m.data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.path, err)
			}
			links = append(links, l)
		case msgLinkInfo:
			info, err := parseStorageInfo(f, m.data, false)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.path, err)
			}
			if info.heap == undefAddr {
				continue
			}
			l, err := f.denseLinks(info)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.path, err)
			}
			links = append(links, l...)
		}
	}
	sort.Slice(links, func(i, j int) bool { return links[i].name < links[j].name })
	for i := 1; i < len(links); i++ {
		if links[i].name == links[i-1].name {
			return nil, corrupt("%s: two links named %q", o.path, links[i].name)
		}
	}
	if links == nil {
		links = []link{}
	}
	o.links = links
	return links, nil
}

func (f *File) denseLinks(info storageInfo) ([]link, error) {
	h, err := f.openFractalHeap(info.heap)
	if err != nil {
		return nil, err
	}
	t, err := f.openBTree2(info.nameIndex, 5)
	if err != nil {
		return nil, err
	}
	var links []link
	err = t.walk(func(rec []byte) error {
		if len(rec) < 5 {
			return corrupt("link name record of %d bytes", len(rec))
		}
		obj, err := h.object(rec[4:])
		if err != nil {
			return err
		}
		l, err := parseLink(f, obj)
		if err != nil {
			return err
		}
		links = append(links, l)
		return nil
	})
	return links, err
}

// Children returns the names of the group's links in byte order.
func (o *Object) Children() ([]string, error) {
	if !o.group {
		return nil, fmt.Errorf("%s: not a group", o.path)
	}
	links, err := o.loadLinks()
	if err != nil {
		return nil, err
	}
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = l.name
	}
	return names, nil
}

// Has reports whether the slash-separated path exists below the group.
// A path through a corrupt group reports false; Child says why.
func (o *Object) Has(path string) bool {
	_, ok, err := o.find(path)
	return ok && err == nil
}

// Child opens the object at the slash-separated path below the group.
func (o *Object) Child(path string) (*Object, error) {
	c, ok, err := o.find(path)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: missing", joinPath(o.path, path))
	}
	return c, nil
}

func joinPath(a, b string) string {
	if a == "/" {
		return "/" + b
	}
	return a + "/" + b
}

func (o *Object) find(path string) (*Object, bool, error) {
	cur := o
	for _, name := range strings.Split(strings.Trim(path, "/"), "/") {
		if !cur.group {
			return nil, false, nil
		}
		links, err := cur.loadLinks()
		if err != nil {
			return nil, false, err
		}
		i := sort.Search(len(links), func(i int) bool { return links[i].name >= name })
		if i == len(links) || links[i].name != name {
			return nil, false, nil
		}
		l := links[i]
		p := joinPath(cur.path, name)
		if l.typ != linkHard {
			return nil, false, unsupported("%s is a soft or external link", p)
		}
		if cur, err = o.f.open(l.addr, p); err != nil {
			return nil, false, err
		}
	}
	return cur, true, nil
}

// Attr returns the named attribute, or nil (and no error) when the object
// has none of that name.
func (o *Object) Attr(name string) (*Attribute, error) {
	f := o.f
	for i := range o.msgs {
		m := &o.msgs[i]
		switch m.typ {
		case msgAttribute:
			a, err := parseAttribute(f, m.data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.path, err)
			}
			if a.Name == name {
				return a, nil
			}
		case msgAttrInfo:
			info, err := parseStorageInfo(f, m.data, true)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o.path, err)
			}
			if info.heap == undefAddr {
				continue
			}
			a, err := f.denseAttr(info, name)
			if err != nil {
				return nil, fmt.Errorf("%s: attribute %q: %w", o.path, name, err)
			}
			if a != nil {
				return a, nil
			}
		}
	}
	return nil, nil
}

func (f *File) denseAttr(info storageInfo, name string) (*Attribute, error) {
	h, err := f.openFractalHeap(info.heap)
	if err != nil {
		return nil, err
	}
	t, err := f.openBTree2(info.nameIndex, 8)
	if err != nil {
		return nil, err
	}
	hash := lookup3([]byte(name))
	var found *Attribute
	err = t.walk(func(rec []byte) error {
		if found != nil {
			return nil
		}
		if len(rec) < 17 {
			return corrupt("attribute name record of %d bytes", len(rec))
		}
		d := &decoder{b: rec[len(rec)-4:], f: f}
		if d.u32() != hash {
			return nil
		}
		obj, err := h.object(rec[:len(rec)-9])
		if err != nil {
			return err
		}
		a, err := parseAttribute(f, obj)
		if err != nil {
			return err
		}
		if a.Name == name {
			found = a
		}
		return nil
	})
	return found, err
}
