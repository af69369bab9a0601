package sim

// Times inside the simulator are int64 milliseconds since the Unix epoch:
// records keep millisecond precision, and formatting 3 million timestamps
// through time.Time would cost more than generating the records.

const (
	second int64 = 1000
	minute       = 60 * second
	hour         = 60 * minute
	day          = 24 * hour
	week         = 7 * day
)

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// daysFromCivil and civilFromDays convert between proleptic Gregorian dates
// and days since 1970-01-01 (Howard Hinnant's algorithms).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// weekday returns 0 for Sunday … 6 for Saturday.
func weekday(ms int64) int64 { return (floorDiv(ms, day) + 4) % 7 }

// cet gives the offset of Central European Time, the zone of the plant's
// local systems, without the tz database: EU summer time runs from the last
// Sunday of March to the last Sunday of October, 01:00 UTC both.
type cet struct{ lo, hi, on, off int64 }

func (c *cet) offset(ms int64) int64 {
	if ms < c.lo || ms >= c.hi {
		y, _, _ := civilFromDays(floorDiv(ms, day))
		c.lo = daysFromCivil(y, 1, 1) * day
		c.hi = daysFromCivil(y+1, 1, 1) * day
		c.on = lastSunday(y, 3)*day + hour
		c.off = lastSunday(y, 10)*day + hour
	}
	if ms >= c.on && ms < c.off {
		return 120
	}
	return 60
}

func lastSunday(y, m int64) int64 {
	d := daysFromCivil(y, m, 31)
	return d - (d+4)%7
}

// appendTime appends ms as RFC 3339 at offMin minutes east of UTC, with a
// fraction only when the instant has one, as sources write them.
func appendTime(b []byte, ms, offMin int64) []byte {
	t := ms + offMin*minute
	days := floorDiv(t, day)
	rem := t - days*day
	y, mo, d := civilFromDays(days)
	b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append2(b, mo)
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, rem/hour)
	b = append(b, ':')
	b = append2(b, rem/minute%60)
	b = append(b, ':')
	b = append2(b, rem/second%60)
	if f := rem % 1000; f != 0 {
		b = append(b, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
	}
	if offMin == 0 {
		return append(b, 'Z')
	}
	sign := byte('+')
	if offMin < 0 {
		sign, offMin = '-', -offMin
	}
	b = append(b, sign)
	b = append2(b, offMin/60)
	b = append(b, ':')
	return append2(b, offMin%60)
}

func append2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// appendDate appends the UTC date of ms as YYYYMMDD, for ids.
func appendDate(b []byte, ms int64) []byte {
	y, m, d := civilFromDays(floorDiv(ms, day))
	b = appendPad(b, y, 4)
	b = append2(b, m)
	return append2(b, d)
}

// appendPad appends v, zero-padded to width digits.
func appendPad(b []byte, v int64, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v >= 10 || width > 1 {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	i--
	tmp[i] = byte('0' + v)
	return append(b, tmp[i:]...)
}

// appendFixed appends v/10^dec as a decimal with exactly dec fraction digits.
func appendFixed(b []byte, v int64, dec int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	if dec == 0 {
		return appendPad(b, v, 1)
	}
	p := pow10[dec]
	b = appendPad(b, v/p, 1)
	b = append(b, '.')
	return appendPad(b, v%p, dec)
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000}
