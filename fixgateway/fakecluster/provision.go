package fakecluster

import "venue/engine"

// ProvisionMessages returns the admin commands that provision spec through
// the log, in order: instruments, gateway principals, then each trader with
// its accounts (sorted by principal). `venue run` sends them to the real
// cluster from its bootstrap admin session.
func ProvisionMessages(spec Spec) [][]byte {
	var msgs [][]byte
	for _, in := range spec.Instruments {
		buf, m := engine.AppendAddInstrument(nil)
		m.SetTickSize(in.TickSize)
		m.SetLotSize(in.LotSize)
		m.SetReferencePrice(in.ReferencePrice)
		m.SetInstrument(in.ID)
		m.SetBandBps(in.BandBps)
		m.SetPriceDecimals(in.PriceDecimals)
		m.SetState(engine.TradingStateOpen)
		m.SetSymbol(in.Symbol)
		msgs = append(msgs, buf)
	}
	for _, g := range spec.Gateways {
		msgs = append(msgs, setPrincipal(g, engine.RoleGateway))
	}
	for _, name := range sortedKeys(spec.Traders) {
		msgs = append(msgs, setPrincipal(name, engine.RoleTrader))
		for _, a := range spec.Traders[name] {
			buf, m := engine.AppendSetAccount(nil)
			m.SetEnabled(1)
			m.SetAccount(a)
			m.SetPrincipal(name)
			msgs = append(msgs, buf)
		}
	}
	return msgs
}
