//go:build !(linux || darwin)

package workspace

// fileStamp is empty where the standard library offers no ctime and inode
// numbers: snapshots are never reused there.
type fileStamp struct{}

func (fileStamp) newest() int64 { return 0 }

func (fileStamp) device() uint64 { return 0 }

func (fileStamp) identity() [2]uint64 { return [2]uint64{} }

func statFile(string) (fileStamp, bool, error) { return fileStamp{}, false, errNotStampable }

func rootDev(string) (uint64, error) { return 0, errNotStampable }

func findNewer(string, int64, int, []string) (string, bool, error) { return "", false, errNotStampable }

// stampsSupported: no reuse on this platform.
const stampsSupported = false
