"""Jobs: what one command does, from its files to its outputs — every input and output target checked first,
then the analyses run, then the results written.

One module per job (:mod:`.screen`, :mod:`.indicators`, :mod:`.conflicts`, :mod:`.change`, :mod:`.monitor`,
:mod:`.map`, :mod:`.report`, :mod:`.partition`, :mod:`.demo`, :mod:`.check`) and what they share (:mod:`.common`).
A job reports how far it is through an optional ``progress(description, done, total)`` callable, which the
command line draws (the demo still draws its own bar over the sample layers).
"""
