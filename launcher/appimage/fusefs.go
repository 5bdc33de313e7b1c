package appimage

import (
	"errors"
	"io"
	"io/fs"
	"log"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/gpack/gpack/formats/squashfs"
)

// fuseFS serves the squashfs image read-only over FUSE, with go-fuse's raw
// API: FUSE node ids are the image's inode numbers (through its export
// table), shifted by one so that the root can be node 1, as FUSE wants.
// The image never changes, so the kernel may cache names, attributes and
// contents for as long as it likes (an hour, and FOPEN_KEEP_CACHE).
//
// Every file shows as the user's (the uid and gid the launcher runs as),
// as the extracted copy in the cache does, and the kernel checks modes
// itself (default_permissions).
//
// A fresh mount per run has nothing cached, and every request that the
// kernel sends blocks the program for a round trip (about 28 µs between
// the two cores of the VM the numbers come from), so the file system
// spares the kernel every request it can, as bench/appimage.sh measured on
// Python importing 200 modules (2,900 requests before, 1,500 after; 539
// to 462 ms with gzip, 405 to 328 ms with zstd, direct 146 ms):
//   - Open answers ENOSYS where the kernel offers FUSE_NO_OPEN_SUPPORT:
//     the kernel then opens and releases files without asking, and Read
//     finds the file by node id (byNode);
//   - Flush answers ENOSYS, which the kernel remembers: nothing is
//     written, so nothing is flushed on close;
//   - a name that is not there is answered as an entry with node id 0 and
//     the hour's timeout, which the kernel caches as a negative entry
//     (Python probes many names once each, some many times);
//   - directories are listed with READDIRPLUS, whose entries carry the
//     attributes, so a program that lists a directory and then opens its
//     files (Python's importer) looks none of them up.
type fuseFS struct {
	fuse.RawFileSystem
	im       *squashfs.Image
	root     uint32 // the image's root inode number
	uid, gid uint32

	// damaged says, once, that the image failed to read (a damaged
	// copy): the program itself sees EIO.
	damaged func(err error)

	// noOpen and noOpenDir say the kernel opens files and directories
	// without asking (see Open and OpenDir).
	noOpen, noOpenDir bool

	mu     sync.Mutex
	next   uint64
	files  map[uint64]*squashfs.File  // by file handle, where files are opened
	byNode map[uint64]*squashfs.File  // by node id, where they are not
	dirs   map[uint64][]fuse.DirEntry // by file handle
	listed map[uint64][]fuse.DirEntry // by node id, at most maxListed
}

// maxListed bounds the listings kept by node id.
const maxListed = 64

// cacheTTL is how long the kernel keeps names and attributes.
const cacheTTL = time.Hour

func newFuseFS(im *squashfs.Image) *fuseFS {
	return &fuseFS{RawFileSystem: fuse.NewDefaultRawFileSystem(), im: im, root: im.Root().Ino(),
		uid: uint32(os.Getuid()), gid: uint32(os.Getgid()),
		files: map[uint64]*squashfs.File{}, byNode: map[uint64]*squashfs.File{},
		dirs: map[uint64][]fuse.DirEntry{}, listed: map[uint64][]fuse.DirEntry{}}
}

func (f *fuseFS) String() string { return "gpack-appimage" }

// node is the FUSE node id of inode number ino.
func (f *fuseFS) node(ino uint32) uint64 {
	if ino == f.root {
		return fuse.FUSE_ROOT_ID
	}
	return uint64(ino) + 1
}

// inode reads the inode of node id n.
func (f *fuseFS) inode(n uint64) (*squashfs.Inode, fuse.Status) {
	if n == fuse.FUSE_ROOT_ID {
		return f.im.Root(), fuse.OK
	}
	if n < 2 || n > 1<<32 {
		return nil, fuse.ENOENT
	}
	in, err := f.im.Inode(uint32(n - 1))
	if err != nil {
		return nil, f.status(err)
	}
	return in, fuse.OK
}

// status maps a reader's error: a name that is not there, else EIO (a
// damaged image), which is also reported once.
func (f *fuseFS) status(err error) fuse.Status {
	if errors.Is(err, fs.ErrNotExist) {
		return fuse.ENOENT
	}
	if f.damaged != nil {
		f.damaged(err)
	}
	return fuse.EIO
}

func (f *fuseFS) attr(n *squashfs.Inode, a *fuse.Attr) {
	a.Ino = uint64(n.Ino())
	a.Size = uint64(n.Size())
	a.Blocks = uint64(n.Blocks())
	t := uint64(n.ModTime().Unix())
	a.Atime, a.Mtime, a.Ctime = t, t, t
	a.Mode = n.UnixMode()
	a.Nlink = n.Nlink()
	a.Owner = fuse.Owner{Uid: f.uid, Gid: f.gid}
	a.Blksize = 4096
}

func (f *fuseFS) Lookup(_ <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	dir, st := f.inode(h.NodeId)
	if !st.Ok() {
		return st
	}
	if !dir.IsDir() {
		return fuse.ENOTDIR
	}
	n, err := dir.Lookup(name)
	if errors.Is(err, fs.ErrNotExist) {
		// A negative entry, cached as long as the others.
		out.NodeId = 0
		out.SetEntryTimeout(cacheTTL)
		return fuse.OK
	}
	if err != nil {
		return f.status(err)
	}
	out.NodeId = f.node(n.Ino())
	out.SetEntryTimeout(cacheTTL)
	out.SetAttrTimeout(cacheTTL)
	f.attr(n, &out.Attr)
	return fuse.OK
}

func (f *fuseFS) Forget(nodeid, nlookup uint64) {}

// Flush: nothing is ever written. ENOSYS tells the kernel not to ask again.
func (f *fuseFS) Flush(_ <-chan struct{}, _ *fuse.FlushIn) fuse.Status { return fuse.ENOSYS }

func (f *fuseFS) GetAttr(_ <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	n, st := f.inode(in.NodeId)
	if !st.Ok() {
		return st
	}
	out.SetTimeout(cacheTTL)
	f.attr(n, &out.Attr)
	return fuse.OK
}

func (f *fuseFS) Readlink(_ <-chan struct{}, h *fuse.InHeader) ([]byte, fuse.Status) {
	n, st := f.inode(h.NodeId)
	if !st.Ok() {
		return nil, st
	}
	t, err := n.Readlink()
	if err != nil {
		return nil, fuse.EINVAL
	}
	return []byte(t), fuse.OK
}

// Access: the kernel checks modes itself (default_permissions); this
// answers access(2)'s W_OK, which a read-only mount refuses anyway.
func (f *fuseFS) Access(_ <-chan struct{}, in *fuse.AccessIn) fuse.Status {
	if in.Mask&2 != 0 {
		return fuse.Status(syscall.EROFS)
	}
	return fuse.OK
}

// Open opens a file for Read. Where the kernel supports it, it answers
// ENOSYS instead, once: the kernel stops sending OPEN and RELEASE, and the
// mount being read-only, the kernel refuses writes itself.
func (f *fuseFS) Open(_ <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	if in.Flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC) != 0 {
		return fuse.Status(syscall.EROFS)
	}
	if f.noOpen {
		return fuse.ENOSYS
	}
	n, st := f.inode(in.NodeId)
	if !st.Ok() {
		return st
	}
	if !n.IsRegular() {
		return fuse.EINVAL
	}
	file, err := n.Open()
	if err != nil {
		return f.status(err)
	}
	f.mu.Lock()
	f.next++
	out.Fh = f.next
	f.files[out.Fh] = file
	f.mu.Unlock()
	out.OpenFlags = fuse.FOPEN_KEEP_CACHE
	return fuse.OK
}

func (f *fuseFS) Read(_ <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	file, st := f.file(in)
	if !st.Ok() {
		return nil, st
	}
	size := min(int(in.Size), len(buf))
	n, err := file.ReadAt(buf[:size], int64(in.Offset))
	if err != nil && err != io.EOF {
		return nil, f.status(err)
	}
	return fuse.ReadResultData(buf[:n]), fuse.OK
}

// file is the file a Read reads: by its handle, or, where the kernel opens
// files without asking (handle 0), by its node id, opened the first time
// and kept: the image never changes, and a File is small.
func (f *fuseFS) file(in *fuse.ReadIn) (*squashfs.File, fuse.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.Fh != 0 {
		if file := f.files[in.Fh]; file != nil {
			return file, fuse.OK
		}
		return nil, fuse.EBADF
	}
	if file := f.byNode[in.NodeId]; file != nil {
		return file, fuse.OK
	}
	n, st := f.inode(in.NodeId)
	if !st.Ok() {
		return nil, st
	}
	if !n.IsRegular() {
		return nil, fuse.EINVAL
	}
	file, err := n.Open()
	if err != nil {
		return nil, f.status(err)
	}
	f.byNode[in.NodeId] = file
	return file, fuse.OK
}

func (f *fuseFS) Release(_ <-chan struct{}, in *fuse.ReleaseIn) {
	f.mu.Lock()
	file := f.files[in.Fh]
	delete(f.files, in.Fh)
	f.mu.Unlock()
	if file != nil {
		file.Close()
	}
}

// OpenDir lists a directory for ReadDir. Where the kernel supports it, it
// answers ENOSYS instead, once: the kernel stops sending OPENDIR and
// RELEASEDIR, keeps listings as it keeps the pages of files, and ReadDir
// lists by node id.
func (f *fuseFS) OpenDir(_ <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	if f.noOpenDir {
		return fuse.ENOSYS
	}
	es, st := f.list(in.NodeId)
	if !st.Ok() {
		return st
	}
	f.mu.Lock()
	f.next++
	out.Fh = f.next
	f.dirs[out.Fh] = es
	f.mu.Unlock()
	// The kernel may keep the listing as it keeps the pages of files:
	// a mount that several runs share lists each directory once.
	out.OpenFlags = fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_CACHE_DIR
	return fuse.OK
}

// list lists the directory of node id n, with "." and "..".
func (f *fuseFS) list(nodeID uint64) ([]fuse.DirEntry, fuse.Status) {
	n, st := f.inode(nodeID)
	if !st.Ok() {
		return nil, st
	}
	if !n.IsDir() {
		return nil, fuse.ENOTDIR
	}
	d, err := n.OpenDir()
	if err != nil {
		return nil, f.status(err)
	}
	defer d.Close()
	parent := n.Parent()
	if n.Ino() == f.root {
		parent = f.root
	}
	es := []fuse.DirEntry{
		{Name: ".", Mode: syscall.S_IFDIR, Ino: uint64(n.Ino())},
		{Name: "..", Mode: syscall.S_IFDIR, Ino: uint64(parent)},
	}
	for {
		e, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, f.status(err)
		}
		es = append(es, fuse.DirEntry{Name: e.Name(), Mode: modeType(e.Type()), Ino: uint64(e.Ino())})
	}
	return es, fuse.OK
}

// modeType is the S_IFMT bits of an io/fs type.
func modeType(m fs.FileMode) uint32 {
	switch {
	case m&fs.ModeDir != 0:
		return syscall.S_IFDIR
	case m&fs.ModeSymlink != 0:
		return syscall.S_IFLNK
	case m&fs.ModeNamedPipe != 0:
		return syscall.S_IFIFO
	case m&fs.ModeSocket != 0:
		return syscall.S_IFSOCK
	case m&fs.ModeCharDevice != 0:
		return syscall.S_IFCHR
	case m&fs.ModeDevice != 0:
		return syscall.S_IFBLK
	}
	return syscall.S_IFREG
}

func (f *fuseFS) ReadDir(_ <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return f.readDir(in, out, false)
}

// ReadDirPlus lists a directory with its entries' attributes, which the
// kernel caches as if each had been looked up.
func (f *fuseFS) ReadDirPlus(_ <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return f.readDir(in, out, true)
}

func (f *fuseFS) readDir(in *fuse.ReadIn, out *fuse.DirEntryList, plus bool) fuse.Status {
	var es []fuse.DirEntry
	if in.Fh == 0 {
		// Opened without asking (noOpenDir). The kernel keeps what it
		// read, but reads a large directory in several calls: the
		// listings of the last directories read are kept for those.
		f.mu.Lock()
		es = f.listed[in.NodeId]
		f.mu.Unlock()
		if es == nil {
			var st fuse.Status
			if es, st = f.list(in.NodeId); !st.Ok() {
				return st
			}
			f.mu.Lock()
			if len(f.listed) >= maxListed {
				clear(f.listed)
			}
			f.listed[in.NodeId] = es
			f.mu.Unlock()
		}
	} else {
		f.mu.Lock()
		var ok bool
		es, ok = f.dirs[in.Fh]
		f.mu.Unlock()
		if !ok {
			return fuse.EBADF
		}
	}
	for i := in.Offset; i < uint64(len(es)); i++ {
		e := es[i]
		e.Off = i + 1
		if !plus {
			if !out.AddDirEntry(e) {
				break
			}
			continue
		}
		eo := out.AddDirLookupEntry(e)
		if eo == nil {
			break
		}
		if e.Name == "." || e.Name == ".." {
			continue // the kernel takes no entry for these
		}
		n, err := f.im.Inode(uint32(e.Ino))
		if err != nil {
			return f.status(err)
		}
		eo.NodeId = f.node(n.Ino())
		eo.SetEntryTimeout(cacheTTL)
		eo.SetAttrTimeout(cacheTTL)
		f.attr(n, &eo.Attr)
	}
	return fuse.OK
}

func (f *fuseFS) ReleaseDir(in *fuse.ReleaseIn) {
	f.mu.Lock()
	delete(f.dirs, in.Fh)
	f.mu.Unlock()
}

func (f *fuseFS) StatFs(_ <-chan struct{}, _ *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	info := f.im.Info()
	out.Bsize, out.Frsize, out.NameLen = 4096, 4096, 255
	out.Blocks = uint64(info.BytesUsed+4095) / 4096
	out.Files = uint64(info.Inodes)
	return fuse.OK
}

// serveFUSE serves the image on the FUSE descriptor fd, which a child in
// the program's namespaces opened and mounted: go-fuse takes it as the
// mount point /dev/fd/N. It answers the kernel's INIT, then serves in the
// background until the mount goes away with the namespace.
func serveFUSE(im *squashfs.Image, fd int, damaged func(error)) error {
	fsys := newFuseFS(im)
	fsys.damaged = damaged
	srv, err := fuse.NewServer(fsys, "/dev/fd/"+strconv.Itoa(fd), mountOptions())
	if err != nil {
		return err
	}
	fsys.started(srv)
	go srv.Serve()
	return nil
}

// mountOptions are the FUSE session's options: no xattrs, reads of up to
// 128 KiB (a block of the default size) ahead.
func mountOptions() *fuse.MountOptions {
	return &fuse.MountOptions{
		FsName: "gpack-appimage", Name: "gpack", DisableXAttrs: true,
		MaxReadAhead: 128 << 10,
		// go-fuse logs a connection that ends: it ends with the
		// program's namespace, which is no news for the user.
		Logger: log.New(io.Discard, "", 0),
	}
}

// started takes what the kernel offered in its INIT, which NewServer
// answered: it is known before the first request is served.
func (f *fuseFS) started(srv *fuse.Server) {
	k := srv.KernelSettings()
	f.noOpen = k.Flags&fuse.CAP_NO_OPEN_SUPPORT != 0
	f.noOpenDir = k.Flags&fuse.CAP_NO_OPENDIR_SUPPORT != 0
}
