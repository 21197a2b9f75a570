"""The web layer: layout, navigation, home dashboard and shared components."""
