// Interrupts and input bounds of the geometry kernels.
//
// A kernel call runs with the GIL held and returns only at its end: without a
// check, Ctrl-C (or any Python signal handler that raises, such as a
// time-out's) waits for the whole call. poll_interrupt() runs the pending
// signal handlers and, when one raised, ends the call with that exception.
// The loops of every phase call it once per raster or output row.
#pragma once

namespace geoconv {

// Largest |coordinate| of a vertex (pixels): float32 records resolve whole
// pixels up to 2^24, and beyond it a mesh is no face of any crop. Also bounds
// every product of the raster's arithmetic far below double's range.
constexpr double kMaxCoordinate = 16777216.0;
// Largest image side: h * w then fits an int with room, and a raster row a
// few megabytes.
constexpr int kMaxImageSide = 1 << 15;

// Throws pybind11::error_already_set when a Python signal handler raised.
void poll_interrupt();

}  // namespace geoconv
