package compiler

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Load reads every *.yaml and *.yml file under dir, recursively (directories whose name
// starts with a dot are skipped), validates each document against the schema, decodes it
// and runs the semantic checks. Positions name files as dir joined with their path below
// it. On any problem it returns a nil project and an ErrorList holding every problem found.
//
// Only regular files of at most MaxFileSize bytes are read: a *.yaml or *.yml entry that
// is a symbolic link (even to a file inside dir), a named pipe, a device or a socket is an
// error, and nothing is read then. Error messages quote at most a short, escaped excerpt of
// what they found.
func Load(dir string) (*Project, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, ErrorList{{File: dir, Message: describeIOError(err)}}
	}
	if !info.IsDir() {
		return nil, ErrorList{{File: dir, Message: "not a directory"}}
	}
	return load(os.DirFS(dir), func(name string) string { return filepath.Join(dir, filepath.FromSlash(name)) })
}

// LoadFS is Load for a file system, for example an embed.FS or a fstest.MapFS. Positions
// name files by their path in fsys.
func LoadFS(fsys fs.FS) (*Project, error) {
	return load(fsys, func(name string) string { return name })
}

// MaxFileSize is the largest flag file Load reads, in bytes.
const MaxFileSize = 4 << 20

// irregular says why a directory entry of type t is not read as a flag file, or "" for a
// regular file. Load reads regular files only: symbolic links are refused, even to a
// file inside the directory (a flag file that is a link could as well be the file it
// links to, and a link may lead anywhere: /dev/zero, a named pipe, a .env file), and so
// are devices, pipes and sockets, which could block or never end.
func irregular(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "a symbolic link: flag files must be regular files (links are not followed)"
	case t.IsRegular():
		return ""
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe: flag files must be regular files"
	case t&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		return "a device: flag files must be regular files"
	case t&fs.ModeSocket != 0:
		return "a socket: flag files must be regular files"
	}
	return "not a regular file"
}

// readFlagFile reads a regular file of at most MaxFileSize bytes; the file is checked
// again once open, in case it was replaced after the directory was listed.
func readFlagFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if reason := irregular(info.Mode().Type()); reason != "" {
		return nil, errors.New(reason)
	}
	if info.Size() > MaxFileSize {
		return nil, fileTooLarge(info.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fileTooLarge(int64(len(data)))
	}
	return data, nil
}

func fileTooLarge(size int64) error {
	return fmt.Errorf("the file is larger than the limit of %d bytes (4 MiB) for a flag file (%d bytes or more)", MaxFileSize, size)
}

func describeIOError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// fileResult is what the per-file stage (read, parse, validate) produced.
type fileResult struct {
	valid   []document
	invalid []document
	errs    []*Error
}

func load(fsys fs.FS, display func(string) string) (*Project, error) {
	v, err := newValidator()
	if err != nil {
		return nil, fmt.Errorf("compiler: the embedded schema does not compile: %w", err)
	}
	var names []string
	var refused ErrorList
	walkErr := fs.WalkDir(fsys, ".", func(name string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			if name != "." && strings.HasPrefix(de.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(name); ext == ".yaml" || ext == ".yml" {
			if reason := irregular(de.Type()); reason != "" {
				refused = append(refused, &Error{File: display(name), Message: reason})
				return nil
			}
			names = append(names, name)
		}
		return nil
	})
	if walkErr != nil {
		return nil, ErrorList{{File: display("."), Message: describeIOError(walkErr)}}
	}
	if len(refused) > 0 {
		return nil, sortErrors(refused)
	}
	slices.Sort(names)

	// Stage 1, per file in parallel: read, parse, validate against the schema.
	results := make([]fileResult, len(names))
	parallel(len(names), func(i int) {
		file := display(names[i])
		data, err := readFlagFile(fsys, names[i])
		if err != nil {
			results[i].errs = []*Error{{File: file, Message: describeIOError(err)}}
			return
		}
		docs, errs := parseYAML(file, data)
		results[i].errs = errs
		for _, d := range docs {
			if d.broken {
				// Its value errors are reported; validating would only repeat them.
				results[i].invalid = append(results[i].invalid, d)
			} else if verrs := v.validate(d); verrs != nil {
				results[i].errs = append(results[i].errs, verrs...)
				results[i].invalid = append(results[i].invalid, d)
			} else {
				results[i].valid = append(results[i].valid, d)
			}
		}
	})

	// Stage 2: sort documents by kind, find duplicates, gather the names they define.
	var errs ErrorList
	var projectDoc *document
	projectBroken := false
	var segDocs, flagDocs []document
	firstSeg, firstFlag := map[string]node{}, map[string]document{}
	firstSegDoc := map[string]document{}
	brokenSegs, brokenFlags := map[string]bool{}, map[string]bool{}
	for _, r := range results {
		errs = append(errs, r.errs...)
		for _, d := range r.invalid {
			kind, _ := d.root.get("kind")
			key, _ := d.root.get("key")
			switch str(kind) {
			case "Project":
				projectBroken = true
			case "Segment":
				brokenSegs[str(key)] = true
			case "Flag":
				brokenFlags[str(key)] = true
			}
		}
		for _, d := range r.valid {
			kind, _ := d.root.get("kind")
			switch str(kind) {
			case "Project":
				if projectDoc != nil {
					errs = append(errs, &Error{File: d.file, Line: d.root.line(), Column: d.root.col(),
						Message: fmt.Sprintf("a second Project document (the first is at %s:%d)", projectDoc.file, projectDoc.root.line())})
					continue
				}
				projectDoc = &d
			case "Segment":
				k, kn := d.root.get("key")
				if first, dup := firstSegDoc[str(k)]; dup {
					errs = append(errs, &Error{File: d.file, Line: k.line(), Column: k.col(), Path: "key",
						Message: fmt.Sprintf("duplicate segment key %q (first at %s:%d)", str(k), first.file, firstSeg[str(k)].line())})
				} else {
					firstSegDoc[str(k)], firstSeg[str(k)] = d, kn
				}
				segDocs = append(segDocs, d)
			case "Flag":
				k, _ := d.root.get("key")
				if first, dup := firstFlag[str(k)]; dup {
					_, fkn := first.root.get("key")
					errs = append(errs, &Error{File: d.file, Line: k.line(), Column: k.col(), Path: "key",
						Message: fmt.Sprintf("duplicate flag key %q (first at %s:%d)", str(k), first.file, fkn.line())})
				} else {
					firstFlag[str(k)] = d
				}
				flagDocs = append(flagDocs, d)
			}
		}
	}
	if projectDoc == nil && !projectBroken {
		errs = append(errs, &Error{File: display("."), Message: "no Project document (a file with kind: Project) found"})
	}
	var projectRoot node
	if projectDoc != nil {
		projectRoot = projectDoc.root
	}
	sym := gatherSymbols(projectRoot, segDocs, flagDocs)
	sym.brokenSegments, sym.brokenFlags = brokenSegs, brokenFlags
	if projectBroken {
		sym.projectOK = false
	}

	// Stage 3, per document in parallel: decode and check literals and references.
	p := &Project{DefaultBucketBy: sym.defaultBucketBy, Checks: map[string]Severity{}}
	if projectDoc != nil {
		d := &decoder{file: projectDoc.file, sym: sym}
		p = d.project(projectDoc.root)
		errs = append(errs, d.errs...)
	}
	segDecoders := make([]*decoder, len(segDocs))
	p.Segments = make([]*Segment, len(segDocs))
	parallel(len(segDocs), func(i int) {
		segDecoders[i] = &decoder{file: segDocs[i].file, sym: sym}
		p.Segments[i] = segDecoders[i].segment(segDocs[i].root)
	})
	flagDecoders := make([]*decoder, len(flagDocs))
	p.Flags = make([]*Flag, len(flagDocs))
	parallel(len(flagDocs), func(i int) {
		flagDecoders[i] = &decoder{file: flagDocs[i].file, sym: sym}
		p.Flags[i] = flagDecoders[i].flag(flagDocs[i].root)
	})
	segRefs := map[string][]segRef{}
	for i, d := range segDecoders {
		errs = append(errs, d.errs...)
		if _, dup := segRefs[p.Segments[i].Key]; !dup {
			segRefs[p.Segments[i].Key] = d.segRefs
		}
	}
	for _, d := range flagDecoders {
		errs = append(errs, d.errs...)
	}
	slices.SortStableFunc(p.Segments, func(a, b *Segment) int { return strings.Compare(a.Key, b.Key) })
	slices.SortStableFunc(p.Flags, func(a, b *Flag) int { return strings.Compare(a.Key, b.Key) })

	// Stage 4: reference cycles and chain depths.
	errs = append(errs, segmentCycles(p, segRefs)...)
	errs = append(errs, prerequisiteCycles(p)...)

	if len(errs) > 0 {
		return nil, sortErrors(errs)
	}
	return p, nil
}

// parallel runs fn(0..n-1) on up to GOMAXPROCS goroutines.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				j := int(next.Add(1)) - 1
				if j >= n {
					return
				}
				fn(j)
			}
		})
	}
	wg.Wait()
}
