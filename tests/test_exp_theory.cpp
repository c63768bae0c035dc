#include <doctest/doctest.h>

#include "experiment_support.hpp"
