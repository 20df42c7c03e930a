package engine

import (
	"reflect"
	"testing"
)

// reset clears every field but the ClOrdID arrays (which are read only
// under fields it clears): a field added to cmdContext must be added to
// reset, or to the exceptions here with a reason.
func TestContextResetClearsEveryScalar(t *testing.T) {
	notCleared := map[string]bool{"cancelClOrdID": true, "newClOrdID": true, "origClOrdID": true}
	var c cmdContext
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Int64, reflect.Int32, reflect.Int, reflect.Int16, reflect.Int8:
			setUnexported(f, reflect.ValueOf(int64(7)).Convert(f.Type()))
		case reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8, reflect.Uint:
			setUnexported(f, reflect.ValueOf(uint64(7)).Convert(f.Type()))
		case reflect.Pointer:
			setUnexported(f, reflect.New(f.Type().Elem()))
		case reflect.Array:
		default:
			t.Fatalf("field %s: kind %v not handled by this test", v.Type().Field(i).Name, f.Kind())
		}
	}
	c.reset(1, 2, 3)
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if notCleared[name] || name == "logPosition" || name == "clusterTime" || name == "session" {
			continue
		}
		if !v.Field(i).IsZero() {
			t.Errorf("reset leaves %s set", name)
		}
	}
	if c.logPosition != 2 || c.clusterTime != 3 || c.session != 1 {
		t.Fatalf("reset: %+v", c)
	}
}

func setUnexported(f, x reflect.Value) {
	reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem().Set(x)
}
