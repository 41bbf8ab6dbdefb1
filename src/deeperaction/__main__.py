from deeperaction.cli import main

main()
