package recording

import (
	"encoding/binary"
	"io"
)

// mp4Writer writes one H.264 track as fragmented MP4 (ISO/IEC 14496-12 and -15), which browsers play: the
// file begins with ftyp and a moov that describes the track (avcC from the first SPS and PPS) and has no samples,
// then one fragment (moof + mdat) per group of pictures, each beginning on an IDR picture; at the end an mfra
// indexes every fragment's first picture for seeking, and the duration is written into the moov (mvhd, tkhd,
// mdhd and mehd). Times are milliseconds (timescale 1000), as the WebM writers'. It implements the block writer
// interface the track writer uses (Write, Close).
type mp4Writer struct {
	f interface {
		io.Writer
		io.WriterAt
		io.Closer
	}
	off int64 // bytes written so far

	durAt []int64 // offsets of the duration fields to fill at Close (32-bit each)

	seq     uint32
	frag    []mp4Sample // the samples of the fragment being collected
	data    []byte      // their bytes
	fragEnd []tfraEntry
	lastTS  int64
	lastDur int64
	err     error
}

type mp4Sample struct {
	ts   int64
	size int
	kf   bool
}

type tfraEntry struct {
	ts, moof int64
}

// maxFragment bounds a fragment (bytes) when keyframes are rare.
const maxFragment = 4 << 20

func newMP4Writer(f interface {
	io.Writer
	io.WriterAt
	io.Closer
}, width, height int, avcc []byte) (*mp4Writer, error) {
	w := &mp4Writer{f: f, lastDur: 33}
	var b []byte
	b = mp4Box(b, "ftyp", func(b []byte) []byte {
		b = append(b, "iso5"...)
		b = be32(b, 512)
		return append(b, "iso5iso6mp41avc1"...)
	})
	var durs []int
	b = mp4Box(b, "moov", func(b []byte) []byte {
		b = mp4Full(b, "mvhd", 0, 0, func(b []byte) []byte {
			b = be32(be32(b, 0), 0) // creation, modification
			b = be32(b, 1000)       // timescale
			durs = append(durs, len(b))
			b = be32(b, 0)                     // duration (filled at Close)
			b = be32(b, 0x00010000)            // rate 1.0
			b = append(b, 0x01, 0x00, 0, 0)    // volume 1.0, reserved
			b = append(b, make([]byte, 8)...)  // reserved
			b = mp4Matrix(b)                   //
			b = append(b, make([]byte, 24)...) // pre_defined
			return be32(b, 2)                  // next_track_ID
		})
		b = mp4Box(b, "trak", func(b []byte) []byte {
			b = mp4Full(b, "tkhd", 0, 3, func(b []byte) []byte { // enabled, in movie
				b = be32(be32(b, 0), 0)
				b = be32(b, 1) // track_ID
				b = be32(b, 0)
				durs = append(durs, len(b))
				b = be32(b, 0) // duration
				b = append(b, make([]byte, 8)...)
				b = append(b, 0, 0, 0, 0, 0, 0, 0, 0) // layer, alternate group, volume 0, reserved
				b = mp4Matrix(b)
				b = be32(b, uint32(width)<<16)
				return be32(b, uint32(height)<<16)
			})
			return mp4Box(b, "mdia", func(b []byte) []byte {
				b = mp4Full(b, "mdhd", 0, 0, func(b []byte) []byte {
					b = be32(be32(b, 0), 0)
					b = be32(b, 1000)
					durs = append(durs, len(b))
					b = be32(b, 0)
					return append(b, 0x55, 0xc4, 0, 0) // language "und"
				})
				b = mp4Full(b, "hdlr", 0, 0, func(b []byte) []byte {
					b = be32(b, 0)
					b = append(b, "vide"...)
					b = append(b, make([]byte, 12)...)
					return append(b, "Parley video\x00"...)
				})
				return mp4Box(b, "minf", func(b []byte) []byte {
					b = mp4Full(b, "vmhd", 0, 1, func(b []byte) []byte { return append(b, make([]byte, 8)...) })
					b = mp4Box(b, "dinf", func(b []byte) []byte {
						return mp4Full(b, "dref", 0, 0, func(b []byte) []byte {
							b = be32(b, 1)
							return mp4Full(b, "url ", 0, 1, func(b []byte) []byte { return b })
						})
					})
					return mp4Box(b, "stbl", func(b []byte) []byte {
						b = mp4Full(b, "stsd", 0, 0, func(b []byte) []byte {
							b = be32(b, 1)
							return mp4Box(b, "avc1", func(b []byte) []byte {
								b = append(b, make([]byte, 6)...)
								b = append(b, 0, 1)                // data_reference_index
								b = append(b, make([]byte, 16)...) // pre_defined, reserved
								b = append(b, byte(width>>8), byte(width), byte(height>>8), byte(height))
								b = be32(b, 0x00480000) // 72 dpi
								b = be32(b, 0x00480000)
								b = be32(b, 0)
								b = append(b, 0, 1)                // frame_count
								b = append(b, make([]byte, 32)...) // compressorname
								b = append(b, 0, 0x18, 0xff, 0xff) // depth, pre_defined -1
								return mp4Box(b, "avcC", func(b []byte) []byte { return append(b, avcc...) })
							})
						})
						for _, name := range []string{"stts", "stsc"} {
							b = mp4Full(b, name, 0, 0, func(b []byte) []byte { return be32(b, 0) })
						}
						b = mp4Full(b, "stsz", 0, 0, func(b []byte) []byte { return be32(be32(b, 0), 0) })
						return mp4Full(b, "stco", 0, 0, func(b []byte) []byte { return be32(b, 0) })
					})
				})
			})
		})
		return mp4Box(b, "mvex", func(b []byte) []byte {
			b = mp4Full(b, "mehd", 0, 0, func(b []byte) []byte {
				durs = append(durs, len(b))
				return be32(b, 0) // fragment_duration (filled at Close)
			})
			return mp4Full(b, "trex", 0, 0, func(b []byte) []byte {
				b = be32(b, 1) // track_ID
				b = be32(b, 1) // default_sample_description_index
				return be32(be32(be32(b, 0), 0), 0)
			})
		})
	})
	for _, d := range durs {
		w.durAt = append(w.durAt, int64(d))
	}
	if _, err := f.Write(b); err != nil {
		return nil, err
	}
	w.off = int64(len(b))
	return w, nil
}

// Write adds one access unit (AVC form) at ms; a keyframe (IDR) starts a new fragment.
func (w *mp4Writer) Write(kf bool, ms int64, frame []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if len(w.frag) > 0 && (kf || len(w.data)+len(frame) > maxFragment) {
		if d := ms - w.frag[len(w.frag)-1].ts; d > 0 {
			w.lastDur = d
		}
		w.flush(ms)
	}
	w.frag = append(w.frag, mp4Sample{ts: ms, size: len(frame), kf: kf})
	w.data = append(w.data, frame...)
	return len(frame), w.err
}

// flush writes the collected samples as one fragment; next is the time of the sample after them.
func (w *mp4Writer) flush(next int64) {
	if len(w.frag) == 0 || w.err != nil {
		return
	}
	w.seq++
	moofAt := w.off
	var b []byte
	var dataOffsetAt int
	b = mp4Box(b, "moof", func(b []byte) []byte {
		b = mp4Full(b, "mfhd", 0, 0, func(b []byte) []byte { return be32(b, w.seq) })
		return mp4Box(b, "traf", func(b []byte) []byte {
			b = mp4Full(b, "tfhd", 0, 0x020000, func(b []byte) []byte { return be32(b, 1) }) // default-base-is-moof
			b = mp4Full(b, "tfdt", 1, 0, func(b []byte) []byte { return be64(b, uint64(w.frag[0].ts)) })
			// data offset, sample duration, size and flags present
			return mp4Full(b, "trun", 0, 0x000701, func(b []byte) []byte {
				b = be32(b, uint32(len(w.frag)))
				dataOffsetAt = len(b)
				b = be32(b, 0)
				for i, s := range w.frag {
					end := next
					if i+1 < len(w.frag) {
						end = w.frag[i+1].ts
					}
					b = be32(b, uint32(max(end-s.ts, 1)))
					b = be32(b, uint32(s.size))
					flags := uint32(0x01010000) // depends on others, not a sync sample
					if s.kf {
						flags = 0x02000000
					}
					b = be32(b, flags)
				}
				return b
			})
		})
	})
	binary.BigEndian.PutUint32(b[dataOffsetAt:], uint32(len(b)+8))
	b = be32(b, uint32(len(w.data)+8))
	b = append(b, "mdat"...)
	if w.frag[0].kf {
		w.fragEnd = append(w.fragEnd, tfraEntry{ts: w.frag[0].ts, moof: moofAt})
	}
	w.lastTS = next
	w.write(b)
	w.write(w.data)
	w.frag, w.data = w.frag[:0], w.data[:0]
}

func (w *mp4Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.f.Write(b)
	w.off += int64(n)
	if err != nil {
		w.err = err
	}
}

// Close writes the last fragment, the fragment index (mfra) and the duration, and closes the file.
func (w *mp4Writer) Close() error {
	if len(w.frag) > 0 {
		w.flush(w.frag[len(w.frag)-1].ts + w.lastDur)
	}
	var b []byte
	b = mp4Box(b, "mfra", func(b []byte) []byte {
		b = mp4Full(b, "tfra", 1, 0, func(b []byte) []byte {
			b = be32(b, 1) // track_ID
			b = be32(b, 0) // 1-byte traf, trun and sample numbers
			b = be32(b, uint32(len(w.fragEnd)))
			for _, e := range w.fragEnd {
				b = be64(be64(b, uint64(e.ts)), uint64(e.moof))
				b = append(b, 1, 1, 1)
			}
			return b
		})
		return mp4Full(b, "mfro", 0, 0, func(b []byte) []byte { return be32(b, uint32(len(b)+4-0)) })
	})
	// mfro's size field is the whole mfra's size.
	binary.BigEndian.PutUint32(b[len(b)-4:], uint32(len(b)))
	w.write(b)
	if w.err == nil {
		d := be32(nil, uint32(max(w.lastTS, 0)))
		for _, at := range w.durAt {
			if _, err := w.f.WriteAt(d, at); err != nil {
				w.err = err
				break
			}
		}
	}
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	return w.err
}

func be32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func be64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// mp4Box appends a box: its size, its type and what body appends.
func mp4Box(b []byte, typ string, body func([]byte) []byte) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = append(b, typ...)
	b = body(b)
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// mp4Full appends a full box (with version and flags).
func mp4Full(b []byte, typ string, version byte, flags uint32, body func([]byte) []byte) []byte {
	return mp4Box(b, typ, func(b []byte) []byte {
		b = append(b, version, byte(flags>>16), byte(flags>>8), byte(flags))
		return body(b)
	})
}

// mp4Matrix is the identity transformation matrix of mvhd and tkhd.
func mp4Matrix(b []byte) []byte {
	for _, v := range []uint32{0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000} {
		b = be32(b, v)
	}
	return b
}
