package proberuntime

import (
	hperrors "errors"
	hpfmt "fmt"
	hpreflect "reflect"
	hpstrconv "strconv"
	hpunsafe "unsafe"
)

// hpBuilder turns nodes into values.
type hpBuilder struct {
	funcs []interface{}
	types []hpreflect.Type
}

var hpErrorType = hpreflect.TypeOf((*error)(nil)).Elem()

// build makes the value n describes.
func (b *hpBuilder) build(n *HpNode) (hpreflect.Value, error) {
	if n == nil {
		return hpreflect.Value{}, hperrors.New("missing node")
	}
	if n.Type < 0 || n.Type >= len(b.types) {
		return hpreflect.Value{}, hpfmt.Errorf("type index %d out of range", n.Type)
	}
	t := b.types[n.Type]
	switch n.Kind {
	case HpKindZero:
		return hpreflect.New(t).Elem(), nil
	case HpKindLit:
		return hpLiteral(t, n.Value)
	case HpKindSlice:
		v := hpreflect.MakeSlice(t, len(n.Elems), len(n.Elems))
		return v, b.fill(v, n.Elems)
	case HpKindArray:
		v := hpreflect.New(t).Elem()
		if len(n.Elems) > v.Len() {
			return v, hperrors.New("too many array elements")
		}
		return v, b.fill(v, n.Elems)
	case HpKindMap:
		v := hpreflect.MakeMapWithSize(t, len(n.Elems)/2)
		for i := 0; i+1 < len(n.Elems); i += 2 {
			k, err := b.build(n.Elems[i])
			if err != nil {
				return v, err
			}
			e, err := b.build(n.Elems[i+1])
			if err != nil {
				return v, err
			}
			v.SetMapIndex(hpAs(k, t.Key()), hpAs(e, t.Elem()))
		}
		return v, nil
	case HpKindStruct:
		v := hpreflect.New(t).Elem()
		for i, name := range n.Names {
			if i >= len(n.Elems) {
				break
			}
			f := v.FieldByName(name)
			if !f.IsValid() {
				return v, hpfmt.Errorf("type %s has no field %s", t, name)
			}
			e, err := b.build(n.Elems[i])
			if err != nil {
				return v, err
			}
			if !f.CanSet() {
				f = hpreflect.NewAt(f.Type(), hpunsafe.Pointer(f.UnsafeAddr())).Elem()
			}
			f.Set(hpAs(e, f.Type()))
		}
		return v, nil
	case HpKindPtr:
		p := hpreflect.New(t.Elem())
		if len(n.Elems) == 1 {
			e, err := b.build(n.Elems[0])
			if err != nil {
				return p, err
			}
			p.Elem().Set(hpAs(e, t.Elem()))
		}
		return p, nil
	case HpKindIface:
		v := hpreflect.New(t).Elem()
		if len(n.Elems) == 1 {
			e, err := b.build(n.Elems[0])
			if err != nil {
				return v, err
			}
			v.Set(e)
		}
		return v, nil
	case HpKindCall:
		return b.call(t, n)
	case HpKindFunc:
		if t.Kind() != hpreflect.Func || len(n.Elems) != t.NumOut() {
			return hpreflect.Value{}, hperrors.New("a function stub needs one value per result")
		}
		outs := make([]hpreflect.Value, len(n.Elems))
		for i, en := range n.Elems {
			e, err := b.build(en)
			if err != nil {
				return hpreflect.Value{}, err
			}
			outs[i] = hpAs(e, t.Out(i))
		}
		return hpreflect.MakeFunc(t, func([]hpreflect.Value) []hpreflect.Value { return outs }), nil
	case HpKindDeref:
		if len(n.Elems) != 1 {
			return hpreflect.Value{}, hperrors.New("deref node needs one element")
		}
		p, err := b.build(n.Elems[0])
		if err != nil {
			return hpreflect.Value{}, err
		}
		if p.Kind() != hpreflect.Ptr || p.IsNil() {
			return hpreflect.Value{}, hperrors.New("dereferencing a nil pointer")
		}
		return hpAs(p.Elem(), t), nil
	}
	return hpreflect.Value{}, hpfmt.Errorf("unknown node kind %q", n.Kind)
}

func (b *hpBuilder) fill(v hpreflect.Value, elems []*HpNode) error {
	for i, en := range elems {
		e, err := b.build(en)
		if err != nil {
			return err
		}
		v.Index(i).Set(hpAs(e, v.Type().Elem()))
	}
	return nil
}

// call builds a value with a constructor. A constructor whose last result
// is a non-nil error fails the case, as a must-helper in the test would.
func (b *hpBuilder) call(t hpreflect.Type, n *HpNode) (hpreflect.Value, error) {
	if n.Func < 0 || n.Func >= len(b.funcs) {
		return hpreflect.Value{}, hpfmt.Errorf("function index %d out of range", n.Func)
	}
	fn := hpreflect.ValueOf(b.funcs[n.Func])
	args, err := b.args(fn.Type(), n.Elems)
	if err != nil {
		return hpreflect.Value{}, err
	}
	outs, pv := hpCall(fn, args)
	if pv != nil {
		return hpreflect.Value{}, hpfmt.Errorf("constructor panicked: %s", *pv)
	}
	if len(outs) == 0 {
		return hpreflect.Value{}, hperrors.New("constructor returns nothing")
	}
	last := outs[len(outs)-1]
	if len(outs) > 1 && last.Type() == hpErrorType && !last.IsNil() {
		return hpreflect.Value{}, hperrors.New("constructor returned an error")
	}
	return hpAs(outs[0], t), nil
}

// args builds the arguments of a call to a function of type ft.
func (b *hpBuilder) args(ft hpreflect.Type, nodes []*HpNode) ([]hpreflect.Value, error) {
	if len(nodes) != ft.NumIn() {
		return nil, hpfmt.Errorf("function takes %d arguments, case has %d", ft.NumIn(), len(nodes))
	}
	args := make([]hpreflect.Value, len(nodes))
	for i, an := range nodes {
		v, err := b.build(an)
		if err != nil {
			return nil, err
		}
		args[i] = hpAs(v, ft.In(i))
	}
	return args, nil
}

// hpCall calls fn, spreading a variadic last argument, and recovers a panic.
func hpCall(fn hpreflect.Value, args []hpreflect.Value) (outs []hpreflect.Value, panicValue *string) {
	defer func() {
		if r := recover(); r != nil {
			s := hpSprint(r)
			panicValue = &s
		}
	}()
	if fn.Type().IsVariadic() {
		return fn.CallSlice(args), nil
	}
	return fn.Call(args), nil
}

// hpSprint is fmt.Sprint that survives a panicking String or Error method.
func hpSprint(v interface{}) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = "(unprintable panic value)"
		}
	}()
	return hpfmt.Sprint(v)
}

// hpAs converts v to t when its type differs (a named type built from its
// underlying one); values of the right type pass unchanged.
func hpAs(v hpreflect.Value, t hpreflect.Type) hpreflect.Value {
	if !v.IsValid() {
		return hpreflect.Zero(t)
	}
	if v.Type() == t || t.Kind() == hpreflect.Interface {
		return v
	}
	if v.Type().ConvertibleTo(t) {
		return v.Convert(t)
	}
	return v
}

// hpLiteral parses a basic value of type t.
func hpLiteral(t hpreflect.Type, s string) (hpreflect.Value, error) {
	v := hpreflect.New(t).Elem()
	switch t.Kind() {
	case hpreflect.Bool:
		x, err := hpstrconv.ParseBool(s)
		v.SetBool(x)
		return v, err
	case hpreflect.Int, hpreflect.Int8, hpreflect.Int16, hpreflect.Int32, hpreflect.Int64:
		x, err := hpstrconv.ParseInt(s, 10, t.Bits())
		v.SetInt(x)
		return v, err
	case hpreflect.Uint, hpreflect.Uint8, hpreflect.Uint16, hpreflect.Uint32, hpreflect.Uint64, hpreflect.Uintptr:
		x, err := hpstrconv.ParseUint(s, 10, t.Bits())
		v.SetUint(x)
		return v, err
	case hpreflect.Float32, hpreflect.Float64:
		x, err := hpstrconv.ParseFloat(s, t.Bits())
		v.SetFloat(x)
		return v, err
	case hpreflect.Complex64, hpreflect.Complex128:
		x, err := hpstrconv.ParseComplex(s, t.Bits())
		v.SetComplex(x)
		return v, err
	case hpreflect.String:
		v.SetString(s)
		return v, nil
	}
	return v, hpfmt.Errorf("no literal of kind %s", t.Kind())
}
