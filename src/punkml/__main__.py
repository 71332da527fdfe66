from punkml.cli import main

main()
