from napari_specimask.cli import main

raise SystemExit(main())
