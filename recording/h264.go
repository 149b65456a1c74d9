package recording

import "errors"

// h264 helpers: what an MP4 avc1 track (mp4.go) needs from the stream — the decoder configuration record
// (avcC) built from the first SPS and PPS, and the picture size read from the SPS.

const (
	nalIDR = 5
	nalSPS = 7
	nalPPS = 8
)

// avcNALs splits an AVC (4-byte length-prefixed) access unit into its NAL units.
func avcNALs(au []byte) [][]byte {
	var out [][]byte
	for len(au) >= 4 {
		n := int(au[0])<<24 | int(au[1])<<16 | int(au[2])<<8 | int(au[3])
		au = au[4:]
		if n <= 0 || n > len(au) {
			break
		}
		out = append(out, au[:n])
		au = au[n:]
	}
	return out
}

// avcC is the AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.2.4.1) for one SPS and one PPS.
func avcC(sps, pps []byte) []byte {
	b := []byte{1, sps[1], sps[2], sps[3], 0xff, 0xe1, byte(len(sps) >> 8), byte(len(sps))}
	b = append(b, sps...)
	b = append(b, 1, byte(len(pps)>>8), byte(len(pps)))
	return append(b, pps...)
}

// bitReader reads an RBSP (emulation prevention bytes removed) bit by bit.
type bitReader struct {
	b   []byte
	pos int
	err error
}

var errShort = errors.New("recording: short SPS")

func (r *bitReader) u(n int) uint {
	var v uint
	for i := 0; i < n; i++ {
		if r.pos >= len(r.b)*8 {
			r.err = errShort
			return 0
		}
		v = v<<1 | uint(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

func (r *bitReader) ue() uint {
	zeros := 0
	for r.u(1) == 0 && r.err == nil {
		zeros++
		if zeros > 31 {
			r.err = errShort
			return 0
		}
	}
	return (1<<zeros - 1) + r.u(zeros)
}

func (r *bitReader) se() int {
	v := r.ue()
	if v%2 == 1 {
		return int(v+1) / 2
	}
	return -int(v / 2)
}

// spsSize reads the picture size from an SPS NAL unit (ITU-T H.264 §7.3.2.1.1), or reports false.
func spsSize(nal []byte) (int, int, bool) {
	if len(nal) < 4 {
		return 0, 0, false
	}
	rbsp := make([]byte, 0, len(nal))
	for i := 1; i < len(nal); i++ { // skip the NAL header; drop emulation prevention bytes (00 00 03)
		if i >= 3 && nal[i] == 3 && nal[i-1] == 0 && nal[i-2] == 0 {
			continue
		}
		rbsp = append(rbsp, nal[i])
	}
	r := &bitReader{b: rbsp}
	profile := r.u(8)
	r.u(16) // constraint flags, level
	r.ue()  // seq_parameter_set_id
	chroma := uint(1)
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		if chroma = r.ue(); chroma == 3 {
			r.u(1)
		}
		r.ue() // bit depths
		r.ue()
		r.u(1)
		if r.u(1) == 1 { // scaling matrices: rare from cameras; give up rather than parse them
			return 0, 0, false
		}
	}
	r.ue() // log2_max_frame_num_minus4
	switch r.ue() {
	case 0:
		r.ue()
	case 1:
		r.u(1)
		r.se()
		r.se()
		n := r.ue()
		for i := uint(0); i < n && r.err == nil; i++ {
			r.se()
		}
	}
	r.ue() // max_num_ref_frames
	r.u(1)
	w := int(r.ue()) + 1
	h := int(r.ue()) + 1
	frameMBsOnly := int(r.u(1))
	if frameMBsOnly == 0 {
		r.u(1)
	}
	r.u(1)
	var cl, cr, ct, cb int
	if r.u(1) == 1 {
		cl, cr, ct, cb = int(r.ue()), int(r.ue()), int(r.ue()), int(r.ue())
	}
	if r.err != nil {
		return 0, 0, false
	}
	cx, cy := 1, 2-frameMBsOnly
	if chroma == 1 {
		cx, cy = 2, 2*(2-frameMBsOnly)
	} else if chroma == 2 {
		cx, cy = 2, 2-frameMBsOnly
	}
	width := w*16 - cx*(cl+cr)
	height := (2-frameMBsOnly)*h*16 - cy*(ct+cb)
	if width <= 0 || height <= 0 || width > 8192 || height > 8192 {
		return 0, 0, false
	}
	return width, height, true
}
