package recording

import (
	"encoding/binary"
	"log/slog"
	"os"
	"testing"
	"time"
)

// FuzzTrackWriter: the writer reads what publishers send (payloads, sequence numbers, timestamps, SSRCs); whatever
// the bytes, it must not panic, and what it writes must close into a file.
func FuzzTrackWriter(f *testing.F) {
	f.Add([]byte{0x10, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00, 1, 2, 3}, true)
	f.Add([]byte{0x90, 0x80, 0x01, 0x10, 0x00, 0x00, 0x00}, true)
	f.Add([]byte{0xfc, 0xff, 0xfe}, false)
	f.Add([]byte{}, true)
	f.Add([]byte{0, 1, 0, 0, 0, 0, 1, 0x85, 0x78, 0, 4, 0x67, 0x42, 0, 0x1e, 0, 2, 0x68, 0xce, 0, 1, 0x65}, false)
	f.Fuzz(func(t *testing.T, data []byte, video bool) {
		info := TrackInfo{ID: "p/t", Participant: "p", Kind: "video", Codec: "VP8", ClockRate: 90000}
		h264 := video && len(data) > 0 && data[0]&1 == 1
		switch {
		case h264:
			info.Codec = "H264"
		case !video:
			info.Kind, info.Codec, info.ClockRate = "audio", "opus", 48000
		}
		w := &trackWriter{info: info, video: video, h264: h264, spool: t.TempDir(), log: slog.New(slog.DiscardHandler)}
		start := time.Unix(1700000000, 0)
		// Each chunk of the input is one packet: 2 bytes seq, 4 timestamp, 1 SSRC, 1 flags, then up to 40 bytes.
		for len(data) >= 8 {
			n := min(int(data[7]&0x3f), len(data)-8)
			b := bufPool.Get().(*[]byte)
			c := copy(*b, data[8:8+n])
			w.packet(packet{buf: b, n: c, seq: binary.BigEndian.Uint16(data), ts: binary.BigEndian.Uint32(data[2:]), ssrc: uint32(data[6]),
				marker: data[7]&0x80 != 0, now: start.Add(time.Duration(data[6]) * time.Second).UnixNano()}, start)
			bufPool.Put(b)
			data = data[8+n:]
		}
		_, path, _ := w.finish()
		if path != "" {
			os.Remove(path)
		}
	})
}
