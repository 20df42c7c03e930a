package fixgateway

import (
	"errors"
	"strconv"
)

// decimalDigitsMax bounds the digits of a FIX decimal the gateway accepts;
// 18 digits always fit an int64.
const decimalDigitsMax = 18

// Decimal conversion errors.
var (
	errDecimalFormat    = errors.New("fixgateway: not a FIX decimal")
	errNotRepresentable = errors.New("fixgateway: decimal not representable at the instrument's precision")
)

// parseScaled converts a FIX decimal string ("-12.340") exactly into an
// integer count of 10^-scale units. It never rounds: a value with more
// significant fractional digits than scale is errNotRepresentable, and a
// value that is not a plain decimal (exponent, spaces, empty) is
// errDecimalFormat. Trailing fractional zeros are fine ("100.500" at scale 2
// is 10050).
func parseScaled(s []byte, scale int) (int64, error) {
	if len(s) == 0 {
		return 0, errDecimalFormat
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	var mant uint64
	digits, frac, seenDot, seenDigit := 0, 0, false, false
	for _, c := range s {
		switch {
		case c == '.' && !seenDot:
			seenDot = true
		case c >= '0' && c <= '9':
			seenDigit = true
			if seenDot {
				frac++
				if frac > scale {
					if c != '0' {
						return 0, errNotRepresentable
					}
					continue
				}
			}
			if mant == 0 && c == '0' {
				continue // leading zeros do not count toward the digit bound
			}
			digits++
			if digits > decimalDigitsMax {
				return 0, errNotRepresentable
			}
			mant = mant*10 + uint64(c-'0')
		default:
			return 0, errDecimalFormat
		}
	}
	if !seenDigit {
		return 0, errDecimalFormat
	}
	for ; frac < scale; frac++ {
		digits++
		if digits > decimalDigitsMax {
			return 0, errNotRepresentable
		}
		mant *= 10
	}
	v := int64(mant) // mant < 10^18 fits
	if neg {
		v = -v
	}
	return v, nil
}

// appendScaled appends v (in 10^-scale units) as a FIX decimal with exactly
// scale fractional digits.
func appendScaled(dst []byte, v int64, scale int) []byte {
	if scale <= 0 {
		return strconv.AppendInt(dst, v, 10)
	}
	u := uint64(v)
	if v < 0 {
		dst = append(dst, '-')
		u = uint64(-v)
	}
	var tmp [24]byte
	b := strconv.AppendUint(tmp[:0], u, 10)
	for len(b) <= scale {
		b = append([]byte{'0'}, b...)
	}
	dst = append(dst, b[:len(b)-scale]...)
	dst = append(dst, '.')
	return append(dst, b[len(b)-scale:]...)
}

// avgPxDecimalsExtra is how many digits beyond the instrument's price
// precision an average price carries; the average of exact prices need not
// be representable at the instrument's precision.
const avgPxDecimalsExtra = 4

// appendAvgPx appends notional/qty (notional in price units × quantity) as
// a decimal with scale+avgPxDecimalsExtra fractional digits, rounded half
// away from zero. A zero quantity gives 0.
func appendAvgPx(dst []byte, notional, qty int64, scale int) []byte {
	if qty <= 0 {
		return append(dst, '0')
	}
	const extra = 10000 // 10^avgPxDecimalsExtra
	// notional*extra can overflow for huge notionals; fall back to fewer digits.
	if notional > (1<<62)/extra || notional < -(1<<62)/extra {
		return appendScaled(dst, notional/qty, scale)
	}
	n := notional * extra
	q := n / qty
	if r := n % qty; 2*abs64(r) >= qty {
		if n < 0 {
			q--
		} else {
			q++
		}
	}
	return appendScaled(dst, q, scale+avgPxDecimalsExtra)
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
