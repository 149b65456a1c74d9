package signing

import "bytes"

// revisionEnds finds the end of every revision (an %%EOF closing a trailer) and whether data follows the last one.
func revisionEnds(data []byte) (ends []int64, trailing bool) {
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte("%%EOF"))
		if j < 0 {
			break
		}
		at := i + j
		end := at + 5
		// Only an %%EOF that closes a trailer counts (binary stream data may contain the marker).
		if bytes.Contains(data[max(0, at-64):at], []byte("startxref")) {
			if end < len(data) && data[end] == '\r' {
				end++
			}
			if end < len(data) && data[end] == '\n' {
				end++
			}
			ends = append(ends, int64(end))
		}
		i = at + 5
	}
	if len(ends) > 0 {
		trailing = len(bytes.TrimSpace(data[ends[len(ends)-1]:])) > 0
	}
	return ends, trailing
}
