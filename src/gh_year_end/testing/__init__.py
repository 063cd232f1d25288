"""What ghye ships for trying it offline and for its own tests: the fake GitHub and the demo."""
