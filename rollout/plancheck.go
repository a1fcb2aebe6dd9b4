package rollout

// ParsePlan decodes and validates a published plan (DecodePlan) and fills in the
// settings a flag leaves at zero with the plan's defaults, then the built-in ones.
func ParsePlan(data []byte) (*Plan, error) {
	p, err := DecodePlan(data)
	if err != nil {
		return nil, err
	}
	for i := range p.Flags {
		s := &p.Flags[i].Settings
		if s.MinSamples <= 0 {
			s.MinSamples = p.Defaults.MinSamples
		}
		if s.MinSamples <= 0 {
			s.MinSamples = DefaultMinSamples
		}
		if s.Confidence <= 0 || s.Confidence >= 1 {
			s.Confidence = p.Defaults.Confidence
		}
		if s.Confidence <= 0 || s.Confidence >= 1 {
			s.Confidence = DefaultConfidence
		}
	}
	return p, nil
}
