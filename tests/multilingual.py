"""Short wire stories in German, French, Spanish and English, shared by the unit and the
integration tests of languages: ENGLISH and FRENCH report one event, UNRELATED_FRENCH another."""

GERMAN = ("Merz und Macron wollen Freundschaft stärken",
          "Berlin (dpa) - Bundeskanzler Friedrich Merz hat den französischen Präsidenten Emmanuel "
          "Macron am Donnerstag empfangen. Beide Regierungen wollen die deutsch-französische "
          "Freundschaft stärken und bei der Verteidigung enger zusammenarbeiten.\n\n"
          "Kritik kam von der Opposition. Die Kosten seien zu hoch, sagte ein Sprecher.")
FRENCH = ("Le Brésil et la France signent un accord à l'ONU",
          "NEW YORK (AFP) - Le président brésilien Luiz Inacio Lula da Silva et le président Emmanuel "
          "Macron ont signé mercredi à l'Organisation des Nations unies un accord pour protéger "
          "l'Amazonie, en présence de la présidente de la Commission européenne Ursula von der "
          "Leyen.\n\nLe Parlement français devra ratifier le texte avant l'été.")
ENGLISH = ("Brazil and France sign Amazon deal at the UN",
           "NEW YORK (Reuters) - Brazilian President Luiz Inacio Lula da Silva and French President "
           "Emmanuel Macron signed an agreement at the United Nations on Wednesday to protect the "
           "Amazon, with European Commission President Ursula von der Leyen attending.\n\n"
           "France's parliament must ratify the deal before the summer.")
UNRELATED_FRENCH = ("Le PSG remporte le championnat",
                    "PARIS (AFP) - Le Paris Saint-Germain a remporté samedi le championnat de France "
                    "de football après sa victoire contre Lyon, son entraîneur Luis Enrique saluant "
                    "une équipe jeune.\n\nLes supporters ont fêté le titre au Parc des Princes.")
SPANISH = ("Sánchez anuncia un plan de vivienda",
           "MADRID, 12 feb (Reuters) - El presidente del Gobierno, Pedro Sánchez, anunció que las "
           "empresas construirán 180.000 viviendas en suelo público, en un discurso ante el "
           "Congreso.\n\nEl Gobierno brasileño y el mexicano siguen el plan con interés.")
