package metrics

// families is the explicit list of metric families that make up All.
// Add a family here when its registry_<family>.go file declares it.
var families = []func() []Info{
	perturbationInfos,
	scibInfos,
	reconInfos,
}
