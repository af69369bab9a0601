package waarborg

import "time"

// A Cosignature is a witness's C2SP tlog-cosignature/v1 on one of a
// tenant's checkpoints: the witness saw that checkpoint, consistent with
// every earlier one it saw, no later than Time. Time is the witness's
// clock, not ours: it is the trusted time of the checkpoint.
type Cosignature struct {
	Tenant  string
	Size    uint64 // the checkpoint's tree size
	Witness string // the name of the witness's key
	KeyHash uint32 // the key's C2SP signed-note key ID
	Time    time.Time
	// Line is the signature line as a signed note carries it
	// ("— <name> <base64>\n"): appended to the checkpoint's note it gives
	// the cosigned checkpoint that any C2SP verifier reads.
	Line string
}
