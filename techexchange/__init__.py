"""techexchange: the Yangtze River Delta innovation community platform."""
