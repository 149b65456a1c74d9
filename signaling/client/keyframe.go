package client

import "strings"

// IsKeyframeStart reports whether an RTP payload of codec ("VP8", "H264", or a MIME
// type) is the first packet of a keyframe. The client parses payloads itself (it does
// not link the SFU), which also makes it an independent check of what the SFU forwards.
func IsKeyframeStart(codec string, payload []byte) bool {
	switch strings.ToLower(strings.TrimPrefix(strings.ToLower(codec), "video/")) {
	case "vp8":
		return vp8KeyframeStart(payload)
	case "h264":
		return h264KeyframeStart(payload)
	}
	return false
}

// vp8KeyframeStart parses the VP8 payload descriptor (RFC 7741 §4.2) and reports whether
// the packet is the first packet of a keyframe (S=1, partition 0, P bit clear).
func vp8KeyframeStart(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	x, s, pid := b[0]&0x80 != 0, b[0]&0x10 != 0, b[0]&0x07
	if !s || pid != 0 {
		return false
	}
	i := 1
	if x {
		if len(b) < 2 {
			return false
		}
		ext := b[1]
		i = 2
		if ext&0x80 != 0 { // I: picture ID
			if len(b) <= i {
				return false
			}
			if b[i]&0x80 != 0 { // M: 15-bit picture ID
				i += 2
			} else {
				i++
			}
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K: TID/Y/KEYIDX
			i++
		}
	}
	if len(b) <= i {
		return false
	}
	return b[i]&0x01 == 0
}

// h264KeyframeStart reports whether an H.264 RTP payload (RFC 6184) carries an SPS or
// the start of an IDR slice: single NAL units, STAP-A aggregates and FU-A fragments.
func h264KeyframeStart(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	switch nal := b[0] & 0x1f; {
	case nal == 5 || nal == 7:
		return true
	case nal == 24: // STAP-A: 2-byte size, NAL unit, repeated
		for i := 1; i+2 < len(b); {
			size := int(b[i])<<8 | int(b[i+1])
			i += 2
			if size == 0 || i+size > len(b) {
				return false
			}
			if t := b[i] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += size
		}
	case nal == 28: // FU-A
		if len(b) < 2 {
			return false
		}
		return b[1]&0x80 != 0 && (b[1]&0x1f == 5 || b[1]&0x1f == 7)
	}
	return false
}
