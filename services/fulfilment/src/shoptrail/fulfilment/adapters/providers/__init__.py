"""Printify and Printful behind one port (`service_layer.ports.Provider`)."""
