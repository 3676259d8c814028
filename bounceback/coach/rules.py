"""The coach's rules: what a sentence does (apologise, own, fix, prevent) and what it does wrong.

Each problem rule has a code the findings use and the sentence it fired in.
Some problems depend on the rest of the draft: naming the weather as the cause
is an excuse only when nothing else owns the failure ("the storm closed the
road and we did not warn you - that is on us" is sincere), so those rules are
*weak* and count only in a draft with no ownership. The rules are deliberately
about grammar and stance (who is the subject, what is negated, what follows a
"but") rather than about the industries in our data; the model in model.py
reads what the rules miss.

English and Spanish have a rule set each (ENGLISH, SPANISH); other languages
are not scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bounceback.coach.text import Sentence, normalise, split_sentences, words

_I = re.IGNORECASE


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, _I)


# The problems a draft can have, in the order findings are listed. `family`
# groups codes the evaluation treats as one defect (any_inconvenience is a
# cliche; policy_shield is an excuse).
PROBLEM_FAMILY: dict[str, str] = {
    "conditional": "conditional",
    "blames_feelings": "blames_feelings",
    "passive": "passive",
    "excuse": "excuse",
    "policy_shield": "excuse",
    "blames_customer": "blames_customer",
    "blames_colleague": "blames_colleague",
    "but": "but",
    "sarcasm": "sarcasm",
    "minimising": "minimising",
    "any_inconvenience": "cliche",
    "cliche": "cliche",
    "upsell": "upsell",
    "over_promise": "over_promise",
}
PROBLEMS = tuple(PROBLEM_FAMILY)

# Problem codes whose rules come in a weak form (see the module docstring).
WEAK_CAPABLE = ("passive", "excuse", "blames_colleague", "upsell", "cliche")


@dataclass(frozen=True)
class Hit:
    code: str
    sentence: int
    phrase: str
    weak: bool = False


@dataclass
class Report:
    """What the rules found in one draft."""

    language: str
    text: str
    sentences: list[Sentence]
    hits: list[Hit] = field(default_factory=list)
    # Quality -> indexes of the sentences that carry it.
    qualities: dict[str, list[int]] = field(default_factory=dict)

    def has(self, quality: str) -> bool:
        return bool(self.qualities.get(quality))

    @property
    def owned(self) -> bool:
        return self.has("ownership")

    def problems(self) -> list[Hit]:
        """The hits that count: weak ones only when nothing owns the failure."""
        return [h for h in self.hits if not h.weak or not self.owned]

    def problem_codes(self) -> set[str]:
        return {h.code for h in self.problems()}


@dataclass(frozen=True)
class RuleSet:
    language: str
    apology: re.Pattern[str]
    sympathy: re.Pattern[str]  # "sorry to hear": sympathy, not an apology
    problems: dict[str, re.Pattern[str]]
    weak: dict[str, re.Pattern[str]]
    ownership: tuple[re.Pattern[str], ...]
    fix_done: re.Pattern[str]
    fix_future: re.Pattern[str]
    fix_vague: re.Pattern[str]
    time: re.Pattern[str]
    compensation: re.Pattern[str]
    prevention: tuple[re.Pattern[str], ...]
    customer_work: re.Pattern[str]
    cliche_mild: re.Pattern[str]
    coupon: re.Pattern[str]
    but_opening: re.Pattern[str]
    but_rescue: re.Pattern[str]
    negation_before: re.Pattern[str]
    # A sentence that deflects blame cannot also be the draft's ownership.
    deflecting: tuple[str, ...] = ("blames_colleague", "blames_customer", "excuse", "sarcasm")


# --- English ------------------------------------------------------------------------------------

_APOLOGY_EN = (
    r"\b(?:sorry|apologi[sz]\w*|apolog(?:y|ies)|forgive|regret\w*|pardon|my bad|mea culpa|"
    r"i feel (?:terrible|awful|dreadful|bad)|(?:we|i)(?:'re|'m| are| am) (?:mortified|ashamed|"
    r"embarrassed))\b"
)
_SUBJ_YOU = (
    r"(?:you(?:'re| are| were| have been|'ve been| had been| seem(?:ed)?| feel| felt| found| find|"
    r" think| thought| perceived?| took| got| didn't| did not| don't| do not| weren't| aren't|"
    r" may have| might have| may| might| could not| couldn't| have)?)"
)
_FEELING = (
    r"(?:feel|felt|feeling|upset|unhappy|disappointed|dissatisfied|frustrated|annoyed|angry|"
    r"offended|let down|that way|this way|embarrassed|aggrieved|hurt|unimpressed|displeased|"
    r"not happy|not satisfied|not pleased|enjoy\w*|like|liked|love|loved|appreciate\w*|happy|"
    r"pleased|satisfied|impressed|offen[cs]e|the need|it necessary|unfair\w*|wrong way|badly|"
    r"expectations?|standards?|liking|listened|ignored|slighted|lengthy|lacking|wanting|"
    r"too (?:high|slow|long|much|expensive)|unhelpful|rude)"
)
_FAIL_VERB = (
    r"(?:forgot|forgotten|missed|lost|broke|broken|damaged|scratched|dented|cracked|tore|torn|"
    r"ripped|spilled|spilt|dropped|misread|misheard|misunderstood|mislabell?ed|misplaced|mislaid|"
    r"misdirected|mis-?sold|misquoted|miscalculated|misspel[lt]\w*|misrouted|mis-?keyed|mixed up|"
    r"muddled|messed up|screwed up|botched|ruined|spoiled|spoilt|double[- ]?booked|overbooked|"
    r"over-?charged|double[- ]?charged|double[- ]?billed|double[- ]?sold|oversold|under-?cooked|"
    r"burnt|burned|neglected|overlooked|ignored|failed|abandoned|wiped|deleted|erased|delayed|"
    r"underestimated|overestimated|left out|skipped|rejected|refused|sent (?:it|them|"
    r"your \w+) to (?:the wrong|someone else)|blocked|declined|cut off|disconnected|gave away|"
    r"jumped to|argued with|shouted|(?:was|were) rude|spoke rudely|let you down|"
    r"kept you (?:waiting|on hold|in the dark)|took (?:\w+ ){1,3}twice|charged (?:you )?(?:twice|"
    r"double|two|the wrong|incorrectly|more than|too much)|billed (?:you )?(?:twice|double|more|"
    r"too much|incorrectly|the wrong)|left (?:you|your \w+|it|them|the \w+) (?:waiting|outside|out|"
    r"in the|without|behind|on hold|unattended|stranded)|turned (?:you|your \w+) away|"
    r"cancell?ed (?:your \w+ )?(?:by mistake|in error|without))"
)
_NEG = (
    r"(?:didn't|did not|didnt|never|failed to|forgot to|neglected to|hadn't|had not|haven't|"
    r"have not|hasn't|has not|weren't|were not|wasn't|was not)"
)
_WRONG = (
    r"(?:wrong|wrongly|(?:the|an|your|their) old|out-of-date|out of date|outdated|expired|twice|"
    r"two times|by mistake|in error|incorrectly|instead|without (?:asking|telling|checking|warning|"
    r"letting|any warning|notice|your (?:permission|consent|ok|okay|agreement))|too (?:late|early|"
    r"soon|much|far|slow|tight)|late|more than (?:the )?(?:quote|quoted|agreed))"
)
_SUBJ_WE = (
    r"(?:\bwe\b|\bi\b|\bour\s+(?:[\w-]+\s+){0,3}?[\w-]+|\bmy\s+(?:[\w-]+\s+)?[\w-]+|"
    r"\bone\s+of\s+(?:our|my)\s+[\w-]+)"
)
_AUX = (
    r"(?:'ve|'d|\s+have|\s+had|\s+has|\s+was|\s+were|\s+then|\s+also|\s+just|\s+accidentally|"
    r"\s+wrongly|\s+mistakenly|\s+somehow|\s+clearly|\s+completely|\s+totally|\s+simply|\s+still)*"
)

ENGLISH = RuleSet(
    language="en",
    apology=_re(_APOLOGY_EN),
    sympathy=_re(r"\bsorry to (?:hear|learn|read|see)\b"),
    problems={
        "conditional": _re(
            r"\b(?:sorry|apologi[sz]e|apologies|regret(?:s|ted)?(?: it)?)\b[^.!?;:—–]{0,12}?"  # noqa: RUF001
            r"\b(?:if|in case|insofar|to the extent|should you have)\b(?!\s+(?:you(?:'d|"
            r" would)? (?:like|prefer|want|wish|need)|it helps|that works|possible|convenient|"
            r"you can|you would|you'd))|\b(?:if|should)\b[^.!?;]{0,70}?\b(?:upset\w*|offen[cs]e|"
            r"offended|inconvenienc\w*|caused|disappoint\w*|distress\w*|a problem|any problems?|"
            r"an issue|any issues?|wrong|mix-?up|confusion|rude|unhappy|let down|"
            r"fell short)\b[^.!?;]{0,40}?\b(?:sorry|apologi[sz]e|apologies|apology|regret)|"
            r"\b(?:to the extent that|insofar as|in so far as)\b[^.!?]{0,80}\b(?:sorry|apolog\w+|"
            r"regret)"
        ),
        "blames_feelings": _re(
            rf"\b(?:sorry|apologi[sz]e|apologies|regret(?:s|ted)?)\b(?: (?:to hear|to learn|to see|"
            rf"to read))?(?: that)? {_SUBJ_YOU}\b[^.!?;]{{0,30}}?\b{_FEELING}\b|"
            r"\b(?:sorry|apologi\w+|regret\w*)\b[^.!?;]{0,60}?\b(?:(?:didn't|did not|doesn't|"
            r"does not|wasn't|was not|weren't|were not|isn't) (?:meet|live up to|match|"
            r"what you (?:expected|wanted|hoped)|up to (?:your|the) (?:standards?|expectations?)|"
            r"to your (?:\w+ )?(?:liking|taste|satisfaction|standards?))|fell short of your|"
            r"below your expectations)|\bsorry for (?:how|the way) you (?:feel|felt)\b|"
            r"\bregret that you (?:feel|felt|were|are|found|have|had)\b|\b(?:sorry|"
            r"apologi\w+) (?:that )?(?:this|it|that|our \w+|the \w+) (?:upset|offended|annoyed|"
            r"frustrated|disappointed|bothered) you\b"
        ),
        "passive": _re(
            r"\b(?:mistakes|errors|an error|a mistake|some mistakes|errors and omissions|"
            r"a number of errors)\s+(?:were|was|have been|has been|had been|may have been|"
            r"might have been)\s+made\b|\bit\s+(?:is|was|'s)\s+(?:very |most |deeply |extremely |"
            r"really )?(?:regrettable|unfortunate)\s+that\b|\bit has come to (?:our|"
            r"my) attention\b|\blessons (?:will be|have been|are being|were) learn[te]d?\b|"
            r"\bsomewhere along the (?:line|way)\b"
        ),
        "excuse": _re(
            r"\bbeyond (?:our|my|anyone's) control\b|\bout of (?:our|my) (?:hands|control)\b|"
            r"\boutside (?:of )?(?:our|my) control\b|\b(?:nothing|not much|little) (?:more )?(?:we|"
            r"i) (?:could|can)(?:'ve| have)?(?: done| do)?\b|(?:\bnot|n't) (?:really )?(?:our|"
            r"my) fault\b|\b(?:no one's|nobody's|no-one's) fault\b|\bunavoidable\b|\b(?:couldn't|"
            r"could not|can't|cannot) (?:have been )?(?:avoided|helped|prevented)\b|\b(?:we|"
            r"i)(?:'re|'m| are| am| were| was) not (?:responsible|liable|to blame|at fault)\b|"
            r"\b(?:can't|cannot|can not) (?:be held|accept) (?:responsible|liable|liability)\b|"
            r"\bnot (?:liable|responsible) for\b|\b(?:responsibility|blame|fault) (?:lies|rests|"
            r"sits|is) (?:with|on) (?:the|them|him|her)\b|\bact of god\b|\b(?:our|my) hands (?:are|"
            r"were) tied\b|\bthe same for (?:all|every)\w*\b|\bindustry[- ]wide\b|\b(?:not|isn't|"
            r"wasn't) (?:really )?(?:something|anything) (?:we|i) (?:can|could) (?:control|do)\b|"
            r"(?:\bnot|n't) (?:really )?(?:down to|up to) (?:us|me)\b|\bblame the (?:storm|weather|"
            r"snow|courier|airline|bank|supplier|traffic|system|network)\b|\b(?:courier|carrier|"
            r"supplier|manufacturer|airline|airport|bank|lab|laboratory|provider|partner|"
            r"third[- ]party|contractor|subcontractor|insurer|insurance company|coach company|"
            r"delivery company|post office|weather|storm)\W+(?:\w+\W+){0,3}?(?:is|are|was|"
            r"were)\s+(?:responsible|to blame|at fault|liable)\b|\b(?:is|was|are|were) (?:run|"
            r"handled|managed|operated|done) by (?:a |an |our |the )?(?:third[- ]party|external|"
            r"outside|partner|separate|different|another)\b|\b(?:handles?|"
            r"handled) all (?:the )?\w+|\bcontact them directly\b|\b(?:no|not an?|isn't an?|"
            r"not) excuse,? but\b|\b(?:we|i|they|the (?:kitchen|team|staff|office|store|shop|"
            r"restaurant|hotel|ward|clinic|engineers?|drivers?|housekeeping team))(?:'ve|'re|'m|"
            r" have| are| am| were| was| has been| have been| had been)?(?: been)?(?: (?:very|so|"
            r"extremely|incredibly|really|rather|a bit|quite|exceptionally|unusually|particularly|"
            r"absolutely|completely|totally))*\s+(?:busy|swamped|slammed|stretched|overwhelmed|"
            r"short[- ]staffed|understaffed|short of staff|run off (?:our|their|my) feet|"
            r"snowed under|inundated|flat out|under (?:a lot of |huge |enormous )?pressure|"
            r"overstretched)\b|\b(?:high|unusually high|higher than (?:usual|normal|expected)|"
            r"unprecedented|record|heavy|large|huge|exceptional) (?:volumes?|demand|"
            r"numbers?) (?:of (?:calls|orders|emails|enquiries|inquiries|requests|customers|"
            r"bookings|contacts))?|\b(?:busy|hectic|crazy|mental|manic|peak|chaotic) (?:period|"
            r"time|week|weekend|night|day|season|evening|month|spell)s?\b|"
            r"\bstaff(?:ing)? (?:shortages?|problems|issues|levels)\b|\b(?:are|were|"
            r"is) always (?:mental|busy|crazy|manic|packed|rammed)\b|"
            r"\bdue to (?:staff )?(?:sickness|illness|holidays?)\b|\b(?:are|were) (?:very |so |"
            r"extremely )?busy\b|\b(?:do |does )?gets? (?:very |so |really |incredibly |"
            r"quite )?(?:busy|hectic|slammed|manic)\b|\bthese things are sometimes\b|"
            r"\bit's the same for\b"
        ),
        "policy_shield": _re(
            r"\b(?:our|the|company|store|hotel|airline|bank)\s+(?:policy|policies|procedures?|"
            r"terms(?: and conditions)?|conditions(?: of \w+)?|rules|"
            r"guidelines)\b[^.!?]{0,60}\b(?:do(?:es)?n't|do(?:es)? not|cannot|can't|won't|will not|"
            r"not|non-refundable|state|states|say|says|stated|clearly|prevent|require)|"
            r"\bas (?:stated|detailed|outlined|explained|set out|specified|shown|mentioned|noted|"
            r"listed|indicated|advertised|described) (?:in|on|at|under) (?:our|the)\b|"
            r"\bsubject to (?:availability|change)\b|\bin (?:accordance|line) with (?:our|"
            r"the) (?:policy|policies|terms|procedures?|instructions|conditions)\b|"
            r"\bfollows?(?:ed)? (?:the |our |all |strict |company |correct |proper |"
            r"standard )*(?:procedures?|protocols?|policy|policies|processes)\b|\bfollowed (?:the |"
            r"our |all |strict |company |correct |proper |standard )*(?:procedures?|protocols?|"
            r"policy|policies|process)\b|\b(?:we(?:'re| are)|i(?:'m| am)) (?:afraid )?(?:unable|"
            r"not able|not allowed|not permitted) to (?:offer|give|provide|refund|accept|make|"
            r"issue|help)\b|\b(?:can't|cannot|can not|won't|will not|are unable to|don't|"
            r"do not) (?:offer|give|accept|provide|issue|make|guarantee) (?:a |any )?(?:refunds?|"
            r"compensation|liability|exceptions?|a specific)\b|\bnon-refundable\b|\bterms (?:say|"
            r"state)\b|\bthat's (?:just )?(?:our|the) (?:policy|rule|system)\b|"
            r"\bthat's how the system (?:is set up|works)\b|"
            r"\bhead office\b[^.!?]{0,30}\b(?:decides?|decisions|rules|makes|sets)\b|"
            r"\bcarried at the owner's risk\b|\bour records show\b"
        ),
        "blames_customer": _re(
            r"(?<!not )\byou (?:should|must|might|may|could|need to|needed to|ought to)\s+(?:have|"
            r"'ve)\s+(?!been\b|had to\b|to\b|received|got\b|heard\b)(?:\w+ed|read|checked|entered|"
            r"told|called|contacted|let|mentioned|noticed|seen|missed|misread|misheard|"
            r"misunderstood|forgotten|booked|arrived|kept|followed|made sure|ensured|asked|chosen|"
            r"selected|ordered|typed|given)\b|\byou (?:failed|forgot|neglected|omitted)\b|"
            r"\byou (?:didn't|did not|never|haven't|have not|hadn't) (?:tell|inform|let us know|"
            r"read|check|provide|give|mention|follow|notify|update|specify|include|enter|select|"
            r"report|ask|contact|call)\b|\b(?:next time|in future|in the future|going forward|"
            r"from now on),?\s+(?:please\s+|maybe\s+|perhaps\s+|try\s+(?:to\s+)?|you (?:should|"
            r"could|might|may|need to|must)\s+|make sure\s+(?:you\s+)?|remember to\s+)+(?:read|"
            r"check|double-check|make sure|ensure|mention|let us know|tell us|remember|"
            r"be more careful|review|follow|turn up|arrive|keep|order|book|call|look|update|report|"
            r"type|enter)\b|\bplease (?:ensure|make sure|check|read|double-check|remember|be aware|"
            r"note)\b[^.!?]{0,40}\b(?:in future|next time|before|correct|up to date|carefully|"
            r"yourself)\b|\bas (?:you were|you've been|you have been|we|i) (?:told|informed|"
            r"advised|explained|warned|stated|mentioned|made clear)\b|\bwe did (?:say|warn|tell|"
            r"mention|explain|advise)\b|\b(?:clearly|plainly|explicitly) (?:stated?|says?|marked|"
            r"shown|indicated|described|labell?ed|explained|displayed|written|signposted|visible|"
            r"listed)\b|\b(?:it is|it's|it was|that's|that is) (?:the )?(?:customer'?s?'?|your|"
            r"the guest'?s?|the passenger'?s?|the buyer'?s?) (?:own )?(?:responsibility|job|duty|"
            r"fault|mistake|error)\b|(?<!not )(?<!n't )\b(?:your|the customer's) own (?:fault|"
            r"mistake|error)\b|\b(?:which|that|as) you (?:agreed|accepted|signed|consented|"
            r"acknowledged)\b|\byou (?:agreed|accepted|signed up) to (?:these|the|our)\b|\b(?:we|"
            r"i) assume you (?:read|saw|checked|knew)\b|\brecords show(?: that)? you\b|"
            r"\byou (?:misheard|misread|misunderstood|mistyped|entered the wrong|"
            r"selected the wrong|chose the wrong|ordered the wrong|booked the wrong|"
            r"gave us the wrong)\b|\b(?:looks|seems|appears) (?:like|as if|as though|"
            r"that)? ?you (?:may )?(?:have )?(?:entered|selected|typed|chose|chosen|missed|misread|"
            r"misheard|forgot|booked|ordered)\b|\b(?:if|had) you (?:had )?(?:read|checked|arrived|"
            r"called|told us|followed|let us know|booked|kept|contacted)\b|\byou (?:were|"
            r"are) (?:late|not there|not in|not home|supposed to|meant to|expected to|"
            r"required to)\b|\b(?:customers|guests|passengers|patients|users|members) (?:are|"
            r"were) (?:expected|required|responsible)\b|\bcheck (?:your|the) (?:spam|junk)\b|"
            r"\bsmall print\b|\bwe acted on the instruction\b|\bguests are asked to\b|"
            r"\bmay have (?:entered|missed|misread)\b"
        ),
        "blames_colleague": _re(
            r"\b(?:the|a|our|my|one of (?:our|my|the)|that|this)\s+(?:new|other|previous|former|"
            r"night|weekend|overnight|evening|agency|temp|temporary|junior|trainee|relief|"
            r"freelance|covering|external|outside|part-time)\s+(?:\w+\s+)?(?:guy|lad|girl|person|"
            r"staff|staffer|member of staff|employee|colleague|agent|team|shift|worker|chef|waiter|"
            r"waitress|driver|technician|engineer|receptionist|manager|cashier|cook|crew|"
            r"apprentice|boy|starter|hire|department|office|branch|"
            r"contractor)\b(?=[^.!?]{0,80}\b(?:must have|should have|didn't|did not|forgot|failed|"
            r"messed|got it wrong|made (?:a|the|that|an) (?:mistake|error)|was new|is new|'s new|"
            r"was covering|wasn't|isn't|doesn't|didn't know|not familiar|no longer|has since left|"
            r"handled|took|closed|sent|packed|put|fault|error|mistake|to blame|responsible|"
            r"works? for|from another|from a different|promised|made that))|\b(?:i|i'm|"
            r"i am)\s+(?:was not|wasn't|wasnt|am not|'m not|not)\s+(?:on shift|working|"
            r"in (?:that day|the office|work)|there|on duty|the one|involved|responsible|"
            r"the person|in charge|in that day)\b|\bi wasn't in\b|\bnot my (?:department|fault|"
            r"area|responsibility|call|decision|doing|job|team|problem)\b|\b(?:it|that|this)(?:'s|"
            r" is| was)\s+(?:another|a different|the other|a separate)\s+(?:department|team|branch|"
            r"office|store|company|site)(?:'s)?\b|\b(?:my|a|one of my|one of our|"
            r"our) colleagues?\b[^.!?]{0,50}\b(?:should have|must have|didn't|did not|forgot|"
            r"failed|who has since left|has since left|no longer|got it wrong|gave you)\b|\b(?:he|"
            r"she|they)(?:'s| is| was| were| are)\s+(?:new|a trainee|an apprentice|still learning|"
            r"still training|covering|agency|not one of ours|not trained|temporary)\b|\b(?:has|"
            r"have) since left\b|\bno longer (?:with us|works? (?:here|for us)|with the company|"
            r"employed)\b|\b(?:the )?(?:guilty|responsible) (?:person|party|member of staff|"
            r"employee)\b|\b(?:he|she|they) (?:obviously|clearly) (?:didn't|did not|don't|doesn't|"
            r"wasn't|weren't)\b|\bcan't speak for (?:the|my|our)\b|\bbetween you and (?:the|our)\b|"
            r"\bblame (?:the|our) (?:\w+ )?(?:department|team|guys)\b|\b(?:colleague|"
            r"someone else)'s (?:error|mistake|fault)\b|\bnot mine\b|\bwhoever (?:took|handled|"
            r"served|dealt)\b|\bwasn't (?:me|us)\b|\bi've told (?:him|her|them) off\b|\b(?:given|"
            r"told) the wrong information by\b|\bwhich is (?:really )?their (?:issue|fault|"
            r"problem)\b|\bso it's (?:really )?their (?:issue|fault|problem)\b|\bthe (?:office|"
            r"kitchen|warehouse|lab|reception|front desk|driver|technician|engineer|waiter|"
            r"chef) (?:must|should) have\b|\bwasn't the one\b|\b(?:were|"
            r"was) supposed to\b(?=[^.!?]{0,40}\b(?:load|send|call|tell|check|put|pass))|"
            r"\bthe person you (?:dealt|spoke) with\b"
        ),
        "but": _re(
            r"\b(?:sorry|apologi[sz]e|apologies|apology|"
            r"regret)\b[^.!?]{0,80}?[,;\s]\s*(?<!even )(?<!as )(?:but|however|although|though|"
            r"that said|nevertheless|nonetheless)\b(?![^.!?]{0,60}\b(?:i've|we've|i have|we have|"
            r"i'll|we'll|i will|we will|here's|here is|more importantly|the good news|"
            r"it's on its way|on its way|ready|sorted|fixed|refunded|more than that|i take|we take|"
            r"that's on|it's on us|that is on)\b|\s+(?:it|it's|it\s+is|they|the\s+\w+)\s+(?:still|"
            r"was\s+still|never|wasn't|didn't|hadn't))"
        ),
        "sarcasm": _re(
            r"\b(?:refined|discerning|sophisticated|delicate|exquisite|lofty|exacting) (?:taste|"
            r"palate|standards|sensibilities)\b|\byour (?:majesty|highness|lordship|ladyship|"
            r"royal)\b|\b(?:read|reading) (?:your|the customer's|people's|customers') (?:mind|"
            r"minds|thoughts)\b|\bmind[- ]?read\w*|\bpsychic\b|\bred carpet\b|\btime (?:machine|"
            r"travel)\b|\b(?:heaven|god|lord) forbid\b|\b(?:what|such) a (?:tragedy|catastrophe|"
            r"disaster|nightmare)\b|\bhow (?:did|will|could) you (?:ever )?(?:survive|cope)\b|"
            r"\b(?:a|one|the) whole (?:\w+ )?(?:minutes?|seconds?|hours?)\b|\b(?:alert|call|notify|"
            r"inform) the (?:authorities|media|police|press|papers|news)\b|\b(?:apolog\w+|"
            r"sorry) for (?:existing|breathing|living|trying|being alive|daring)\b|"
            r"\bexcuse us for\b|\b(?:clearly|obviously) we(?:'re| are)\b|\bget right on (?:that|"
            r"it)\b|\b(?:congratulations|well done) on (?:finding|spotting|discovering)\b|\b(?:i'm|"
            r"we're|i am|we are) sure (?:you|it) (?:could|can|was)\b(?![^.!?]{0,20}\b(?:help|"
            r"understand))|\bbless (?:you|your)\b|\bperfect (?:hotel|restaurant|service|company|"
            r"world)\b|\blaws of physics\b|\btoo much (?:ocean|sun|sunshine|snow)\b|"
            r"\bworst (?:company|restaurant|hotel) in the world\b|\bmost traumatic\b|"
            r"\bjust a thought\b|[🙄🙃😒]|\b(?:lol|smh|ffs)\b|\baward[- ]winning\b|"
            r"\bour free (?:wifi|wi-fi|dessert|coffee|upgrade|parking)\b|"
            r"\bwe'll (?:frame|treasure|cherish) it\b|"
            r"\b(?:one|1)[- ]star review\b|\binstant enough\b|\bfast enough for you\b|\b(?:wasn't|"
            r"isn't|weren't|aren't) (?:up to|good enough for) your\b|\b(?:wasn't|"
            r"isn't) (?:to )?your (?:\w+ )?(?:taste|liking)\b|\b(?:devastated|"
            r"heartbroken) that you\b|\bnot enough for a\b|\bof your standing\b|"
            r"\bwe'll (?:be sure to|make sure to) (?:hire|install|roll|check)\b|"
            r"\bcount your\b[^.!?]{0,30}\btwice\b|\bso important\b|\bretina\b"
        ),
        "minimising": _re(
            r"\b(?:only|just|merely|barely|a mere|simply)\s+(?:a |an |one |the )?(?:(?:few|"
            r"couple of|small|little|slight|tiny|short|brief|minor|quick|single|one|two|three|four|"
            r"five|ten|fifteen|twenty|thirty|forty|forty-five|\d+|"
            r"whole)\s+)+(?:\w+\s+)?(?:minutes?|mins?|hours?|hrs?|seconds?|days?|weeks?|pounds?|"
            r"dollars?|euros?|quid|bucks|pence|cents?|word|words|item|items|session|song|delay|"
            r"wait|hiccup|issue|scratch|mistake|error|glitch|blip|mix-?up|problem|inconvenience|"
            r"time|bit|break|handful|thousand|contacts)\b|\b(?:only|just|merely)\s+(?:a |"
            r"an )?(?:small|little|slight|minor|tiny|short|brief|temporary|cosmetic|one-off|"
            r"bit)\b(?! (?:note|line|message|update|call))|\b(?:only|just|merely) (?:one|a single|"
            r"£\d+|\$\d+|€\d+|\d+ minutes|a sensor|a handful)\b|\b(?:a|the|this|that|"
            r"your)\s+(?:small|slight|little|minor|tiny|brief|short|temporary)\s+(?:delay|hiccup|"
            r"blip|glitch|issue|mix-?up|inconvenience|wait|oversight|problem|setback|hitch|snag|"
            r"misunderstanding|disruption|outage|scratch|dent)\b|\bhiccup\b|\bblip\b|"
            r"\bteething (?:problems|issues)\b|\b(?:no|not a|not such a) big deal\b|"
            r"\bnot the end of the world\b|\bno (?:real )?harm (?:was )?done\b|"
            r"(?<!before )(?<!when )(?<!until )(?<!if )(?<!as )\b(?:it|this|"
            r"that) happens\b(?! again)|\bthese things (?:do |can |will )?happen\b|\b(?:things|"
            r"stuff|glitches|mistakes|delays) like this (?:do |can )?happen\b|"
            r"\bone of those things\b|\bat least (?:nobody|no one|you|it|the|your|nothing|we)\b|"
            r"\b(?:luckily|fortunately|thankfully),? (?:you|it|nothing|no one|nobody|the rest)\b|"
            r"\b(?:most|many|other|the majority of)(?: of our)? (?:customers|guests|people|"
            r"passengers|patients|users|clients|contacts) (?:don't|didn't|won't|wouldn't|never|"
            r"hardly|barely) (?:\w+ )?(?:notice|mind|complain|even|open)\b|\b(?:barely|"
            r"hardly) (?:noticeable|anyone|anybody)\b|\b(?:only|just) (?:a handful|a few|one|"
            r"some) (?:of )?(?:customers|people|guests|users|orders)\b|\ba (?:bit|little) (?:late|"
            r"delayed|longer|cold|chilly|noisy|slow|warm|off|dark|loose|looseness|while)\b|"
            r"\btook a (?:little )?while\b|\bbetter (?:late|safe) than\b|\bgood (?:food|"
            r"things) takes? time\b|\bshouldn't make (?:any|much) difference\b|"
            r"\bin perfect condition\b|\bgot there in the end\b|\b(?:is|was|are) (?:normal|"
            r"to be expected|not unusual|perfectly normal)\b|\bto be expected\b|"
            r"\bno other complaints\b|\bhappens (?:occasionally|from time to time|sometimes)\b|"
            r"\bfrom time to time\b|\bsort itself out\b|\bstill (?:saw|got|had|enjoyed) (?:almost|"
            r"most|nearly)\b|\botherwise (?:a )?(?:wonderful|great|lovely|enjoyable|perfect)\b|"
            r"\bquite right\b|\bgood for the circulation\b|\bthe rest of the \w+ (?:played|went|"
            r"was) fine\b|\bsomewhere to sit in the end\b|\bcan take a little longer\b|"
            r"\bis normal\b|\bwill settle down\b|\bsettle down after\b"
        ),
        "any_inconvenience": _re(
            r"\b(?:any|the|all)\s+(?:\w+\s+)?inconvenience\b|\bany\s+(?:trouble|disruption|issues?|"
            r"problems?)\b|\binconvenience(?:s)?\s+(?:this|that|it)\s+(?:may|might|has|could|"
            r"will)\s+(?:have\s+)?caus\w*|\b(?:may|might|could) have caused\b|"
            r"\binconvenience (?:caused|experienced|suffered)\b|\bsome inconvenience\b"
        ),
        "cliche": _re(
            r"\bany\s+(?:trouble|disruption|distress|frustration|confusion|issues?|problems?|upset|"
            r"disappointment|difficult(?:y|ies)|discomfort|concerns?|worry|stress|"
            r"misunderstanding)\b|\b(?:your|all|customer)\s+(?:feedback|call|business|custom|"
            r"opinion|comments?|satisfaction|patience|understanding|loyalty|concerns?|"
            r"views?)\s+(?:is|are|means?|matters?)\s+(?:very |extremely |really |so |incredibly |"
            r"hugely )?(?:important|valuable|valued|appreciated|everything|a lot|our (?:top |"
            r"number one |highest |first )?priority|to us)\b|\b(?:we|i)\s+(?:really |truly |"
            r"greatly |very much |do )?(?:value|treasure)\s+(?:you|your|all our)\b|"
            r"\bvalued (?:customer|guest|client|member|passenger|patient)s?\b|\bdear (?:customer|"
            r"guest|valued|sir or madam|sir/madam|client|passenger|member|user|patient)\b|\b(?:top|"
            r"number one|number 1|highest|first|main) priority\b|\b(?:we|"
            r"our team)\s+(?:always\s+)?(?:strive|endeavour|endeavor|pride ourselves|are committed|"
            r"are dedicated)\s+(?:to|on|in)\b|\bcommitted to (?:providing|delivering|ensuring|"
            r"offering|giving|treating)\b|\b(?:take|takes|taking)\s+(?:all\s+|your\s+|customer\s+|"
            r"such\s+)?(?:complaints?|feedback|concerns?|matters?)?\s*(?:very |extremely |really |"
            r"most )?seriously\b|\b(?:passed|forwarded|shared|escalated)\s+(?:on\s+)?to\s+(?:the|"
            r"our)\s+(?:relevant|appropriate|correct|right|responsible|concerned|"
            r"senior)\s+(?:\w+\s+)?(?:department|team|people|person|parties)\b|\b(?:comments|"
            r"feedback|concerns|complaint) (?:have|has) been (?:noted|passed on|logged|recorded|"
            r"shared|forwarded)\b|\bthank you for (?:bringing this|taking the time|reaching out|"
            r"your continued|your (?:valued )?feedback|your (?:recent )?(?:comments|review)|"
            r"contacting us)\b|\bplease do(?:n't| not) hesitate\b|\b(?:should|if) you (?:have|"
            r"require|need) any (?:further|other|more) (?:questions|queries|assistance|help|"
            r"concerns|information)\b|\bif there's anything else\b|\bwe (?:hope|trust) (?:this|"
            r"that) (?:resolves|helps|clarifies|answers|addresses)\b|\b(?:always|constantly|"
            r"continually|continuously) (?:looking|working|striving|seeking) (?:to improve|hard|"
            r"for ways)\b|\b(?:use|will use) (?:your|this) feedback to improve\b|"
            r"\bhope to (?:welcome|see) you (?:back|again)\b|\b(?:we|"
            r"i) understand (?:how frustrating|your frustration|how you feel|your concerns?)\b|"
            r"\bwe are in receipt of\b|\b(?:regret|sorry for|apologi[sz]e for|apologies for|"
            r"apologise for) any\b|\bsorry to learn of your dissatisfaction\b|\bwe regret any\b|"
            r"\bwe appreciate your loyalty\b|\bthe highest standard\b|\bfirst-class experience\b|"
            r"\bexceed (?:our )?customers' expectations\b|\bregret any disappointment\b"
        ),
        "upsell": _re(
            r"\b(?:upgrade|upgrading|switch|switching|move|moving) to (?:our |"
            r"the )?(?:\w+ )?(?:premium|pro|plus|gold|platinum|max|unlimited|business class|annual|"
            r"fibre|fiber|vip|deluxe|premier|\w+ (?:plan|package|bundle|tier|account))\b|"
            r"\b(?:check out|discover|explore|browse)\b|\bhave you (?:tried|seen|considered|"
            r"heard)\b|\bdid you know\b|\bdon't miss\b|\bwhy not (?:try|book|upgrade|treat|join|"
            r"add|make)\b|\btreat yourself\b|\bsign up\b|\bjoin (?:our|the) \w+ (?:club|programme|"
            r"program|scheme)\b|\bjoin our\b|\bsubscribe\b|\bfollow us\b|\brefer a friend\b|"
            r"\bbuy (?:one|two)\b|\badd (?:our|a|the) [\w-]+ (?:plan|insurance|warranty|protection|"
            r"cover|package|add-on)\b|\bextended warranty\b|\b(?:exclusive|special|limited[- ]time|"
            r"members'?) (?:offer|deal|discount|price|rate|bundle)s?\b|\b(?:just|only|"
            r"from) [£$€]\s?\d+(?:\.\d\d)?(?: (?:a|per|more) (?:month|year|person|pp|head|night)|"
            r" more|pp\b|per head)|[£$€]\d+ ?pp\b|(?:^|[.!?,;:]\s*|\bto\s+)(?:book|order|shop|"
            r"upgrade|switch|renew|buy|click)\s+(?:now|today)\b|\bpackages? (?:start|from)\b|"
            r"\b(?:new|latest|spring|summer|autumn|winter) (?:collection|range|products?|add-on|"
            r"plan|menu)\b|\beligible for our\b|\block in\b|\b(?:save|saving) (?:\d|up to)|"
            r"\b2-for-1\b|\btwo for one\b|\btravel (?:protect|insurance)\b|\bclick here\b|"
            r"\breply upgrade\b|\bfor peace of mind\b|\bexpress service\b|\bloyalty app\b|"
            r"\bnewsletter\b|\brewards club\b|\bmembers save\b|\bcelebration package\b|"
            r"\bnever have to worry\b"
        ),
        "over_promise": _re(
            r"\b(?:guarantee|promise|assure|swear)\w*\b[^.!?]{0,60}\b(?:never|won't|will not|"
            r"no (?:one|customer|guest)|always|perfect|flawless|impossible|nothing like)\b|"
            r"\b(?:give you|you have) (?:my|our) word\b|\b100 ?%\s+(?:guarantee|sure|certain)\b|"
            r"\b(?:will|'ll|can) never (?:ever )?(?:happen|occur|recur|be repeated|be an issue)\b|"
            r"\bnever (?:ever )?again\b|\bwill never happen\b|\b(?:is|"
            r"be) impossible (?:for this )?to happen\b|\b(?:you|no (?:one|customer|guest|passenger|"
            r"patient|client))\s+(?:will|'ll) (?:ever |never )(?:again )?(?:have|experience|face|"
            r"wait|be|need)\b|\b(?:will|'ll) (?:always|never) be (?:on time|perfect|flawless|"
            r"late again|an issue again)\b|\beverything will be (?:perfect|flawless)\b|"
            r"\bwill never recur\b|\bwon't ever (?:happen|have)\b|\brest assured (?:this|"
            r"it) will\b|\bwill not happen to you again\b|\bwon't happen again\b(?=[^.!?]*[!👍🙏])|"
            r"\b(?:i|we) (?:can )?(?:promise|assure you)\b[^.!?]{0,40}\bwon't happen again\b"
        ),
    },
    weak={
        "passive": _re(
            r"\b(?:an?|the|some)\s+(?:\w+\s+)?(?:error|mistake|mix-?up|misunderstanding|"
            r"miscommunication|glitch|oversight|problem|issue|fault)\s+(?:has\s+|"
            r"had\s+)?(?:occurred|arose|arisen|happened|took place|crept in|was identified|"
            r"has been identified)\b|\bthere\s+(?:was|has been|have been|were|seems to have been|"
            r"appears to have been|may have been)\s+(?:an?\s+|some\s+)?(?:\w+\s+)?(?:error|mistake|"
            r"mix-?up|misunderstanding|miscommunication|oversight|glitch|confusion|problem)\b|"
            r"\b(?:was|were|has been|have been|had been)\s+(?:\w+\s+)?(?:\w+ed|sent|given|made|"
            r"taken|lost|put|told)\s+(?:in error|by mistake|incorrectly|erroneously|wrongly|"
            r"by accident|due to a technical error)\b|\b(?:was|were|has been|"
            r"had been)\s+not\s+(?:processed|completed|handled|passed on|escalated|actioned|sent|"
            r"received|updated|recorded|followed|available)\b|\bit (?:appears|seems|"
            r"looks like)\b(?: that)? (?:there|the|your|a|an|estimated)\b|\b(?:delays|errors|"
            r"issues|problems|mistakes) (?:were|have been|can) (?:experienced|encountered|"
            r"identified|occur)\b|\bthings (?:didn't|did not) go (?:to plan|as planned)\b|"
            r"\bhas been discussed internally\b|\bit has been established\b|\bit is acknowledged\b|"
            r"\bwere used for\b|\b(?:a|the) (?:\w+ )?(?:charge|disconnection|demand|"
            r"cancellation) was (?:applied|processed|issued)\b|\bwas (?:processed|issued|"
            r"applied) (?:on|to)\b"
        ),
        "excuse": _re(
            r"\b(?:due to|because of|owing to|caused by|as a result of|on account of)\b(?: the| a|"
            r" an| some| severe| adverse| bad| extreme| heavy| unexpected|"
            r" unforeseen)*\s+(?:weather|storm|snow|rain|flood\w*|fog|wind\w*|heat\w*|ice|traffic|"
            r"strike\w*|industrial action|courier|carrier|supplier|manufacturer|airline|airport|"
            r"bank|third[- ]party|provider|partner|circumstances|unforeseen|technical|system|"
            r"glitch|high demand|demand|volume|congestion|roadworks|air traffic|operational|"
            r"sickness|illness)\w*|\b(?:the )?(?:weather|storm|snow|flooding|fog|traffic|strike|"
            r"courier|carrier|supplier|manufacturer|airline|lab|laboratory|provider|"
            r"partner)\b[^.!?;]{0,20}\b(?:caused|delayed|let us down|held up|failed|"
            r"had (?:problems|issues|difficulties)|experienced|is (?:having|experiencing|running)|"
            r"has been having|was (?:late|slow|down)|sent the wrong)\b|\b(?:weather conditions|"
            r"unforeseen complications|operational reasons|technical (?:issue|problem|"
            r"difficult\w*))\b|\b(?:memory cards|systems?|labs?|drivers?|engineers?|parts?|hair|"
            r"brakes?|software|technology) (?:can |sometimes |do )?(?:fail|break|react|need|take|"
            r"are|is|can be|sometimes)\b[^.!?]{0,40}\b(?:sometimes|differently|time|busy|slow|"
            r"pressure|occasionally)\b|\bwaiting on (?:parts|the)\b|\bthe system (?:defaults|"
            r"went down|was down|failed)\b|\b(?:is|are) designed to protect\b|\bsafe than sorry\b|"
            r"\bplaying up\b"
        ),
        "blames_colleague": _re(
            r"\b(?:the|our|my)\s+(?:\w+\s+)?(?:kitchen|warehouse|office|reception|receptionist|"
            r"housekeeping|lab|billing|sales|it|tech|support|catering|delivery|installation|"
            r"product|marketing|accounts|front desk|night|weekend)\s*(?:team|department|staff|desk|"
            r"people|guys)?\s+(?:should have|must have|were supposed to|was supposed to|forgot|"
            r"messed|didn't|did not|failed|got it wrong|made (?:a|the) (?:mistake|error))\b|"
            r"\b(?:someone|somebody) (?:in|at|from|on) (?:the|our)\b|\bpass (?:it|this|"
            r"your \w+) on to (?:his|her|their|the) (?:manager|team|department|supervisor)\b|"
            r"\b(?:i'll|i will|we'll|we will) (?:remind|tell|let) (?:them|him|her)\b|\b(?:i've|"
            r"i have|we've|we have) (?:had a word with|spoken to|told|reminded) (?:him|her|them|"
            r"the (?:lad|guy|driver|technician|waiter|team member|staff member|person))\b|"
            r"\bhe's been told\b|\bhas been told\b|\bshare your comments with (?:him|her)\b"
        ),
        "upsell": _re(
            r"\b(?:use|enter|apply|quote|with) (?:the )?(?:promo |discount |voucher |"
            r"coupon )?code\b|\bcode (?-i:[A-Z0-9]{4,})\b|\b(?-i:[A-Z]{3,}[0-9]{1,3})\b|"
            r"\b\d{1,2} ?% off (?:your |the |any )?(?:next|future)\b|\b(?:discount|voucher|"
            r"money off|\d+ ?% off|\d+% discount) (?:on|for|off) (?:your )?(?:next|future)\b|"
            r"\b\d{1,2} ?% off\b(?! (?:your|the) (?:rental|bill|stay|booking|room|order|invoice))|"
            r"\boff (?:your|the) next\b|\bnext (?:order|purchase)\b"
        ),
        "cliche": _re(
            r"\b(?:thank you|thanks) for your (?:patience|understanding)\b|\b(?:appreciate|"
            r"grateful for) your (?:patience|understanding)\b|\brest assured\b|"
            r"\bplease accept (?:our|my) (?:sincere(?:st)? |heartfelt |humble |"
            r"deepest )?apolog\w*\b|\bwe hope you (?:will )?(?:give us another chance|"
            r"understand)\b|\bthank you for (?:flying|choosing|your (?:email|letter|message))\b|"
            r"\bhope (?:this|that) helps\b|\bwe do our best\b|\bdid our best\b|"
            r"\bwe know how stressful\b|\bmust be frustrating\b|"
            r"\bthat must have been\b(?=[^.!?]{0,20}\bfor you\b)|\bthank you for contacting\b|"
            r"\bI understand how frustrating\b"
        ),
    },
    ownership=(
        # An admission in so many words ("our mistake", "that's on us", "no excuse").
        _re(
            r"\b(?:our|my)\s+(?:own\s+)?(?:[\w-]+\s+)?(?:mistake|fault|error|failure|failing|"
            r"oversight|bad|responsibility|doing|blunder|screw[- ]?up|mess[- ]?up|mix[- ]?up|slip|"
            r"slip[- ]?up|"
            r"bug|omission|negligence|carelessness|fumble|lapse)s?\b"
        ),
        _re(
            r"\b(?:the|this|that)\s+(?:mistake|fault|error|failure|blame|responsibility|"
            r"failing)(?:\s+here)?\s+(?:is|was|lies|rests|sits)\s+(?:entirely\s+|wholly\s+|"
            r"completely\s+|all\s+|squarely\s+|fully\s+|totally\s+)?(?:ours|mine|with (?:us|me)|"
            r"on (?:us|me))\b|\b(?:that|this|which)(?:\s+one)?(?:'s|\s+is|\s+was)?\s+(?:all\s+|"
            r"entirely\s+|completely\s+|totally\s+|squarely\s+|100%\s+|fully\s+|"
            r"firmly\s+)?on\s+(?:us|me)\b|\b(?:entirely|completely|totally|squarely|100%|fully|"
            r"firmly) on (?:us|me)\b|\b(?:that|this|it|which)(?:'s|\s+is|\s+was)\s+(?:all\s+|"
            r"entirely\s+)?(?:ours|mine)\b"
        ),
        _re(
            r"\b(?:we|i)\s+(?:fully\s+|completely\s+|entirely\s+)?(?:take|accept|own|"
            r"bear)\s+(?:full\s+|complete\s+|total\s+|all\s+(?:the\s+)?|the\s+|entire\s+|"
            r"100%\s+)?(?:responsibility|blame|ownership)\b|\b(?:we|i)\s+own\s+(?:this|it|that|"
            r"the mistake|that mistake|the error|up)\b|\b(?:we|i)(?:'re|'m|\s+are|\s+am|\s+were|"
            r"\s+was)\s+(?:fully\s+|entirely\s+|completely\s+|totally\s+)?(?:responsible|to blame|"
            r"at fault|in the wrong|wrong|careless|negligent|too slow)\b|\b(?:there's|there is|"
            r"there was|with)\s+no\s+excuse\b|\bi take responsibility\b|\b(?:it|this|"
            r"that) was my error\b"
        ),
        _re(
            r"\b(?:we|i)(?:'ve|\s+have|'d|\s+had)?\s+(?:really\s+|completely\s+|totally\s+|"
            r"badly\s+|clearly\s+|simply\s+)?(?:let\s+you\s+down|let\s+(?:you|\w+)\s+down|"
            r"dropped\s+the\s+ball|got\s+(?:it|this|that|things|the\s+\w+|your\s+\w+|"
            r"the\s+\w+\s+\w+|your\s+\w+\s+\w+)\s+wrong|messed\s+(?:up|it\s+up|this\s+up|"
            r"that\s+up)|screwed\s+(?:up|it\s+up)|fell\s+short|made\s+(?:a|an|the|two|several|"
            r"a\s+series\s+of|a\s+big|a\s+serious|a\s+real|this)\s+(?:\w+\s+)?(?:mistakes?|errors?|"
            r"mess|blunder|hash)|failed\s+you|should\s+have|should've|shouldn't\s+have|"
            r"should\s+not\s+have|ought\s+to\s+have|could\s+have\s+done\s+better|let\s+(?:this|"
            r"that|it)\s+(?:happen|slip)|took\s+our\s+eye\s+off)\b"
        ),
        _re(
            r"\b(?:that|this|which|it)(?:\s+was|\s+is|'s)\s+(?:\w+\s+)?(?:wrong|careless|"
            r"unacceptable|inexcusable|not\s+(?:ok|okay|acceptable|good\s+enough|right|fair)|"
            r"a\s+(?:poor|bad|careless|serious|big)\s+(?:\w+\s+)?(?:decision|mistake|error|call|"
            r"failure|lapse))\b|\b(?:that|this|it)(?:'s|\s+is)\s+not\s+good\s+enough\b|\b(?:on|"
            r"at)\s+(?:our|my)\s+(?:part|side|end)\b|\b(?:that|this|it)\s+(?:should|"
            r"ought\s+to)(?:\s+never|n't|\s+not)\s+have\s+(?:happened|been\s+\w+|occurred)\b|"
            r"\bnot\s+(?:yours|your\s+fault|anything\s+you\s+did|anything\s+on\s+your\s+(?:side|"
            r"end|part))\b|\bon\s+us,?\s+not\s+(?:you|the)\b|\bneither should have happened\b|"
            r"\bwe\s+were\s+wrong\b|\bthat was (?:untrue|careless|wrong)\b|\bmy error\b|\b(?:error|"
            r"mistake|fault|failure),?\s+(?:all\s+)?ours\b|\b(?:we|i)(?:'re|\s+are|'m|"
            r"\s+am)\s+the\s+ones?\s+(?:who|that)\s+(?:got|made|messed)\b|\b(?:isn't|wasn't|"
            r"is\s+not|was\s+not)\s+(?:acceptable|ok|okay|good\s+enough|right|fair)\b|\b(?:a|"
            r"the)\s+(?:bug|mistake|error|fault|change)\s+(?:we|i)\s+(?:made|shipped|introduced|"
            r"caused|released|pushed|deployed)\b|\bbecause\s+of\s+(?:a|our)\s+(?:bug|mistake|"
            r"error)\b|\bour\s+(?:[\w-]+\s+){0,3}?[\w-]+\s+(?:was|were)\s+(?:too\s+\w+|faulty|"
            r"broken|wrong|late|incorrect|out\s+of\s+date|not\s+(?:working|ready|set\s+up|"
            r"updated))\b"
        ),
        # A first-person subject doing the failure: "we double-booked your table",
        # "our technician forgot to reconnect the cable", "we sent the 10 instead of the 12".
        _re(
            rf"{_SUBJ_WE}{_AUX}\s+(?:{_FAIL_VERB}\b|{_NEG}\s+(?!receive|(?:get|got|hear|"
            rf"heard)\s+(?:your|any|a|an|the)\s+(?:email|message|letter|call|reply|form|request)|"
            rf"hear|heard|know|think|have any)\w+|(?:\w+(?:ed|t)|sent|put|gave|took|told|made|sold|"
            rf"fitted|paid|got|ran|brought|wrote|read|set|printed|"
            rf"loaded)\b[^.!?;]{{0,45}}?\b{_WRONG}\b)"
        ),
    ),
    fix_done=_re(
        r"\b(?:i|we)(?:'ve|\s+have|'d|\s+had)(?:\s+(?:now|just|already|also|since|personally|"
        r"gone\s+ahead\s+and|then))*\s+(?:refunded|credited|cancell?ed|reversed|removed|waived|"
        r"rebooked|re-booked|booked|reserved|re-?sent|sent|arranged|organi[sz]ed|replaced|repaired|"
        r"fixed|restored|reinstated|unblocked|unlocked|released|switched|moved|upgraded|applied|"
        r"added|issued|re-?issued|corrected|updated|processed|paid|covered|refitted|redone|re-?run|"
        r"emailed|posted|dispatched|despatched|scheduled|authori[sz]ed|approved|reopened|"
        r"re-?opened|extended|taken|knocked|deducted|returned|collected|ordered|fitted|reconnected|"
        r"given|held|kept|found|sorted|resolved|pushed|cleared|escalated|opened|re-?activated|"
        r"activated|restocked|rolled\s+back|re-?delivered|swapped|exchanged|topped\s+up|put|got|"
        r"recovered|located|tracked|traced|got\s+you|frozen|unfrozen|calculated|re-?run|run|"
        r"contacted|rung|phoned|called|spoken|written|resent|reissued|offered|restored|cancelled|"
        r"opened|re-?synced|synced|verified|migrated|recovered|corrected|honoured|honored)\b|"
        r"\b(?:we|i)\s+(?:rolled|refunded|credited|cancell?ed|reversed|waived|rebooked|restored|"
        r"re-?synced|replaced|repaired|reconnected|unblocked|restored|paid)\b(?![^.!?]"
        rf"{{0,40}}\b{_WRONG}\b)|"
        r"\b(?:has|have|had|'s)\s+(?:now\s+|just\s+|already\s+|"
        r"also\s+)?been\s+(?:fully\s+)?(?:refunded|credited|cancell?ed|reversed|removed|waived|"
        r"rebooked|re-?sent|sent|arranged|replaced|repaired|fixed|restored|reinstated|unblocked|"
        r"released|processed|paid|corrected|issued|re-?issued|dispatched|despatched|posted|"
        r"approved|resolved|sorted|reconnected|cleared|applied|updated|booked|collected|delivered|"
        r"found|located|upgraded|rebuilt|redone|rescheduled|moved|returned|taken\s+off|"
        r"knocked\s+off|lifted|unlocked|reopened|restocked|spoken\s+to)\b|\b(?:is|are|'s|"
        r"'re)\s+(?:now\s+|already\s+|also\s+)?(?:on\s+(?:its|their|the)\s+way|back\s+(?:on|up|in|"
        r"to\s+normal|on\s+your)|fixed|sorted|restored|ready|resolved|booked|reserved|held|"
        r"waiting\s+(?:for\s+you|at)|in\s+your\s+(?:inbox|email|account)|"
        r"(?<!that's )(?<!that is )(?<!this is )(?<!which is )on\s+(?:us|the\s+house)|"
        r"refunded|cancell?ed|unblocked|lifted|gone|fitted|packed|processed|being\s+(?:delivered|"
        r"sent|repaired|collected|processed|restored|fixed|refunded|rebooked|replaced|"
        r"re-?delivered|brought|dispatched|deployed))\b|\b(?:went|left|goes|gone|shipped|ships|"
        r"went\s+out|left\s+our)\b[^.!?]{0,25}\b(?:today|this\s+morning|tonight|yesterday|"
        r"by\s+courier|first\s+class|next-day|express)\b|\b(?:refunded|refund(?:ed)?\s+(?:done|"
        r"processed|issued|sent)|credited|cancell?ed|reversed|released|fixed|sorted|restored|"
        r"resent|unblocked|waived)\s+(?:just\s+)?(?:now|today|this\s+morning|already|the\s+lot|"
        r"in\s+full)\b|\b(?:refund|credit)\s+(?:of\s+[£$€]?[\d.,]+\s+)?(?:is|was|went|has|for)\b|"
        r"\b(?:new|correct|right|fresh)\s+(?:\w+\s+)?(?:tickets?|one|size|part|bouquet|cake|form|"
        r"card|keys?)\b[^.!?]{0,30}\b(?:issued|in your|on its way|arrives?|went|sent|printed|out|"
        r"ready|being|will|'s|is)\b|\b(?:here's|here is) (?:the )?(?:tracking|your new|the new)\b|"
        r"\b(?:corrected|new|revised|updated|amended|right|correct|replacement)\s+(?:\w+\s+)?"
        r"(?:invoice|bill|statement|tickets?|form|document|contract|receipt|quote|confirmation)"
        r"\s+(?:is\s+)?(?:attached|enclosed|below|here)\b|\b(?:i've|i\s+have|we've|we\s+have)"
        r"\s+attached\s+(?:the|a|your)\s+(?:corrected|new|revised|updated|amended|right)\b|"
        r"\brefunded\s+(?:you|u)\b|"
        r"\b(?:refunded|credited|cancell?ed|reversed|replaced|repaired|fixed|restored|re-?sent|"
        r"emailed|posted|dispatched|processed|issued|released|unblocked|rebooked|waived|removed|"
        r"reconnected|sorted|collected|lifted|cleared)\b[^.!?]{0,40}\b(?:today|tonight|"
        r"this\s+(?:morning|afternoon)|just\s+now|now|already|yesterday)\b|\b(?:you've|you\s+have|"
        r"you're|you\s+are)\s+(?:now\s+)?(?:been\s+)?(?:moved|rebooked|upgraded|refunded|credited|"
        r"booked|reinstated|switched)\b|\b(?:is|are|'s)\s+coming\s+(?:out\s+)?(?:today|tonight|"
        r"tomorrow|this)\b|\b(?:refunded|credited|returned)\s+to\s+your\s+(?:card|account|bank)\b"
    ),
    fix_future=_re(
        r"\b(?:i|we|someone|a\s+(?:technician|engineer|nurse|courier|driver|plumber|crew|new\s+\w+|"
        r"member\s+of\s+\w+)|he|she|they|our\s+(?:[\w-]+\s+){0,2}?[\w-]+)(?:'ll|\s+will|"
        r"\s+am\s+going\s+to|'m\s+going\s+to|\s+are\s+going\s+to|'re\s+going\s+to|\s+shall|"
        r"\s+would\s+like\s+to|'d\s+like\s+to|\s+'d\s+love\s+to|'d\s+love\s+to|\s+want\s+to|\s+can|"
        r"\s+am|'m|\s+are|'re|'s|\s+is)(?:\s+(?:now|personally|also|then|happily|gladly|"
        r"immediately|be\s+happy\s+to|straight\s+away|going\s+to|able\s+to))*\s+(?:refund\w*|"
        r"credit\w*|cancel\w*|reverse|reversing|remove|waive|waiving|rebook\w*|book\w*|reserve|"
        r"send\w*|resend|arrang\w+|replac\w+|repair\w*|fix\w*|restor\w+|reinstate|unblock|release|"
        r"switch|move|moving|upgrad\w+|apply|add|issue|reissue|correct|process|pay\w*|cover\w*|"
        r"redo|re-?run|email|post|dispatch|despatch|schedul\w+|call\w*|ring\w*|phone|text|visit|"
        r"come|bring\w*|drop\w*|deliver\w*|collect\w*|pick|giv\w+|tak\w+|put|make\s+sure|host|"
        r"invite|offer\w*|return|meet|confirm|be\s+with\s+you|be\s+there|see\s+you|repaint|re-?fit|"
        r"fit|install|reconnect|restock|courier|drive|hand|get\s+(?:it|this|your|the|you)|"
        r"have\s+(?:it|your|the)|keep\s+you|updat\w+\s+you|let\s+you\s+know|stay\s+on|handl\w+|"
        r"sort\s+(?:it|this|out)|remake|re-?make|valet|reshoot|knock\w*|restor\w*|ship|swap|"
        r"exchange|mov\w+\s+you|message\s+you|chase|escalate)\b|\b(?:you(?:'ll|"
        r"\s+will)\s+(?:receive|get|have|see)|(?:it|they|he|she|the\s+[\w-]+(?:\s+[\w-]+)?)(?:'ll|"
        r"\s+will)\s+(?:be\s+(?:delivered|with\s+you|ready|back|refunded|credited|fixed|replaced|"
        r"sent|collected|there|on|at|restored|done|finished)|land|arrive|reach|lands|arrives))\b|"
        r"\b(?:your|the|a|an)\s+(?:\w+\s+){0,3}?(?:refund|credit|replacement|voucher|tickets?|"
        r"order|parcel|bag|car|van|laptop|phone|sofa|table|room|booking|appointment|engineer|"
        r"technician|courier|nurse|taxi|driver|plumber|crew|prescription|card|money|payment|fee|"
        r"charge|difference|supply|service|line|water|power|heating|account|bill|fix|cake|flowers|"
        r"bouquet|part|sensor|laptop|router|crown|restorer|next\s+bill|amount|balance|claim|"
        r"premium|dress|tyres?|seats?)\s+(?:will|'ll|should|is\s+(?:due|going|scheduled|booked|"
        r"set)|are\s+(?:due|going|booked)|goes|went|left|leaves|arrives?|is\s+being|are\s+being)\b|"
        r"\b(?:please\s+)?(?:bring|send)\s+(?:it|them|the\s+\w+)\s+(?:back|"
        r"in)\b[^.!?]{0,40}\b(?:and|we'll|we\s+will|i'll)\b|\bcome\s+in\b[^.!?]{0,30}\b(?:and|i'll|"
        r"we'll)\b|\bbook\s+any\s+(?:slot|time|date)\b"
    ),
    fix_vague=_re(
        r"\b(?:look\s+into|looking\s+into|investigat\w+|get\s+back\s+to\s+you|be\s+in\s+touch|"
        r"see\s+what\s+(?:we|i)\s+can\s+do|pass\s+(?:it|this|your\s+\w+)\s+on|passed\s+(?:on|to)|"
        r"share\s+your|review\s+(?:your|the|this)|monitor\w*|in\s+due\s+course|"
        r"as\s+soon\s+as\s+(?:we|possible|we\s+can)|when\s+(?:we|I)\s+can|at\s+some\s+point|"
        r"hopefully|(?:will|'ll)\s+(?:try|endeavour|aim)|being\s+processed|being\s+looked\s+(?:at|"
        r"into)|will\s+be\s+(?:confirmed|in\s+touch|contacted|advised|informed)|see\s+when|"
        r"made\s+a\s+note|should\s+(?:arrive|be\s+(?:with\s+you|sorted|done|ready))\s+(?:soon|"
        r"shortly|next\s+week|sometime)|sometime\s+next|(?:will|'ll)\s+(?:call|ring|contact|"
        r"let)\s+you\s+(?:when|once)\b|see\s+whether)\b"
    ),
    time=_re(
        r"\b(?:today|tonight|tomorrow|this\s+(?:morning|afternoon|evening|week|weekend)|(?:by|"
        r"before|until|at|from|after)\s+(?:\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|h)?|noon|"
        r"midday|midnight|lunch(?:time)?|close|end\s+of\s+(?:day|the\s+day|the\s+week)|(?:mon|tues|"
        r"wednes|thurs|fri|satur|sun)day|first\s+thing)|\d{1,2}(?::\d{2})?\s*(?:am|pm)|"
        r"\d{1,2}[:.]\d{2}|within\s+(?:the\s+(?:hour|day|next)|an\s+hour|a\s+day|\d+|one|two|three|"
        r"four|five|six|seven|ten|twenty|thirty|a\s+few)|(?:mon|tues|wednes|thurs|fri|satur|"
        r"sun)day|(?:mon|tue|tues|wed|weds|thu|thur|thurs|fri|sat|sun)\b|next\s+(?:week|month|"
        r"(?:mon|tues|wednes|thurs|fri|satur|sun)day)|right\s+now|just\s+now|now|right\s+away|"
        r"immediately|straight\s+away|already|in\s+(?:\d+|ten|five|twenty|thirty|an?|"
        r"the\s+next)\s+(?:minutes?|mins?|hours?|hrs?|days?|working\s+days?)|"
        r"\d+\s*-\s*\d+\s+(?:working\s+|business\s+)?days|\d+\s+(?:working\s+|business\s+)?days|"
        r"(?:one|two|three|four|five|ten)\s+(?:working\s+|business\s+)?days|same\s+day|"
        r"end\s+of\s+(?:day|the\s+week)|first\s+thing|\d{1,2}(?:st|nd|rd|th)|\d{1,2}\s+(?:jan|feb|"
        r"mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*|(?:jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|"
        r"nov|dec)\w*\s+\d{1,2}|this\s+month|yesterday|last\s+night|on\s+the\s+spot|"
        r"while\s+you\s+wait)\b"
    ),
    compensation=_re(
        # "That's on us" owns the failure; "dinner's on us" pays for it.
        r"(?<!that's )(?<!that is )(?<!this is )(?<!this one's )(?<!that one's )(?<!which is )"
        r"\b(?:on\s+us|on\s+the\s+house|free\s+of\s+charge|at\s+no\s+(?:extra\s+|"
        r"additional\s+)?(?:cost|charge)|no\s+charge|complimentary|full\s+refund|"
        r"refund(?:ed)?\s+in\s+full|money\s+back|courtesy\s+car|as\s+our\s+guests?|"
        r"no\s+call-out\s+charge|no\s+labour\s+charge|for\s+free|free\s+(?:reshoot|night|"
        r"class(?:es)?|month|pass(?:es)?|tickets?|drinks?|dessert|meal|valet|servic\w+|"
        r"day\s+tickets?)|no\s+need\s+to\s+(?:send|return|bring)|keep\s+(?:the|it|"
        r"them)\b[^.!?]{0,20}(?:broken|wrong|old|\d+))\b"
    ),
    prevention=(
        _re(
            r"\b(?:so|so\s+that|to\s+make\s+sure|to\s+ensure|ensuring|to\s+stop|to\s+prevent|"
            r"making\s+sure|to\s+avoid|which\s+means|meaning)\b[^.!?;]{0,50}?\b(?:this|it|that|"
            r"nobody|no\s+one|no-one|no\s+\w+|the\s+same|a\s+repeat|anyone|any\s+\w+|we|you|they|"
            r"every\s+\w+|each\s+\w+|customers?|guests?|patients?|bookings?|orders?|a\s+\w+|"
            r"an\s+\w+|dates|names|damage|cancellations|changes?|"
            r"notices?)\b[^.!?;]{0,40}?\b(?:doesn't|does\s+not|won't|will\s+not|can't|cannot|"
            r"can\s+not|never|isn't|aren't|don't|do\s+not|no\s+longer|always|again|first|before|"
            r"in\s+future|is\s+caught|are\s+caught|gets?\s+(?:caught|checked|spotted)|(?:is|"
            r"are)\s+(?:checked|spotted|confirmed|flagged|rolled\s+out|explained|met|shown)|hear|"
            r"know|see|sees|get|gets|reach|reaches|goes|go|within|by\s+hand|show)\b"
        ),
        _re(
            r"\b(?:prevent|stop|avoid)\w*\b[^.!?;]{0,50}?\b(?:again|recurr\w*|repeat\w*|happening|"
            r"in\s+future|in\s+the\s+future|next\s+time|future|anyone\s+else|other\s+customers|"
            r"the\s+next|running)\b|\b(?:going\s+forward|from\s+now\s+on|from\s+(?:today|tonight|"
            r"this\s+week|next\s+week|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|"
            r"sunday|now)|in\s+(?:the\s+)?future|next\s+time|for\s+(?:the\s+)?future|"
            r"moving\s+forward|henceforth|from\s+here\s+on|every\s+time|for\s+every\s+(?:future|"
            r"new)\s+\w+|so\s+it\s+can't|for\s+everyone)\b"
        ),
        _re(
            r"\b(?:we|i|our\s+[\w-]+(?:\s+[\w-]+){0,2}|the\s+[\w-]+(?:\s+[\w-]+)?|[\w-]+s|staff|"
            r"team|crew|everyone|everybody|reception|housekeeping|security)(?:'ve|'re|\s+have|"
            r"\s+are|\s+will|'ll)?\s+(?:also\s+)?now\s+(?!on\b|available|ready|fixed|sorted|"
            r"refunded|booked|be\b|at\b|in\b|with\b)\w+|\b(?:every|each|all|"
            r"any)\s+(?:[\w-]+\s+){1,4}?now\s+\w+|\b(?:we|our\s+\w+|"
            r"the\s+\w+)\s+(?:will\s+)?no\s+longer\b|\b(?:is|are)\s+now\s+(?:\w+ed|checked|"
            r"confirmed|required|needed|tested|sent|logged|shown|on\s+the|in\s+place|part\s+of)\b|"
            r"\bon\s+the\s+(?:\w+\s+)?(?:checklist|rota|handover|maintenance\s+sheet)\b|"
            r"\bhas\s+to\s+be\s+\w+ed\b|\bmust\s+now\b|\bnow\s+(?:has|have)\s+to\b|"
            r"\bnow\s+(?:requires?|needs?)\b|\b(?:has|have)\s+been\s+(?:briefed|retrained|"
            r"trained)\b|\band\s+now\s+\w+s\b|\buntil\s+then\b|\bby\s+hand\b|"
            r"\bso\s+(?:that\s+)?(?:[\w'-]+\s+){0,4}?(?:doesn't|does\s+not|don't|do\s+not|won't|"
            r"will\s+not|can't|cannot|never|no\s+longer)\b[^.!?;]{0,30}\bagain\b|\b(?:is|are|'s|"
            r"'re)\s+fixing\s+the\b|\bso\s+(?:that\s+)?(?:[\w-]+\s+){0,3}?(?:come\s+through|"
            r"automatically)\b|\b(?:we're|we\s+are|we'll|we\s+will)\s+(?:now\s+)?(?:checking|"
            r"confirming|testing|calling|texting|reading|sending)\s+(?:every|each|all)\b|\b(?:we|"
            r"i)\s+(?:[\w-]+\s+){1,2}(?:every|each|all)\b[^.!?]{0,60}\bnow\b|\b(?:meeting|met|"
            r"speaking\s+to|spoke\s+to|spoken\s+to|talking\s+to|talked\s+to|"
            r"briefing)\s+the\s+(?:whole\s+)?(?:team|staff)\b"
        ),
        _re(
            r"\b(?:we|i)(?:'ve|\s+have|'d|\s+had|'re|\s+are|'m|\s+am|\s+will|'ll)?(?:\s+(?:now|"
            r"also|since|just|already|then|been|begun|started|recently))*\s+(?:chang\w+\s+(?:our|"
            r"the|how|what|it|this|that|to)|introduc\w+|put\s+in(?:\s+place)?|"
            r"putting\s+in(?:\s+place)?|put\s+(?:a|an)\s+(?:new\s+)?\w+|set\s+up|setting\s+up|"
            r"install\w*|updat\w+\s+(?:our|the)\s+(?:\w+\s+)?(?:process|system|website|site|form|"
            r"rules?|policy|procedure|script|software|app|page|guidance|training|checklist|feed|"
            r"menu|settings?|template)s?|fix\w*\s+(?:the|our|a|that)\s+(?:\w+\s+)?(?:bug|fault|"
            r"setting|form|feed|link|process|system|step|glitch|issue\s+that|problem\s+that)|"
            r"retrain\w*|train\w*|brief\w*|review\w*\s+(?:how|our|the\s+way|all|every|the\s+call)|"
            r"rewr\w+|adjust\w*\s+(?:the|our)|refit\w*|upgrad\w+\s+(?:the|our)|improv\w+|"
            r"redesign\w*|rebuild\w*|reorgani[sz]\w*|stopp\w+\s+(?:the|our|it|"
            r"them)\s+(?:[\w-]+\s+)?from\s+\w+ing|switch\w*\s+(?:to|our|suppliers?|providers?)|"
            r"moved\s+(?:to|our)|creat\w+\s+(?:a|an)|start\w*\s+(?:a|an|checking|texting|calling|"
            r"confirming|sending|reading|using|to)|made\s+(?:it|"
            r"[\w-]+(?:\s+[\w-]+){0,2})\s+(?:a\s+rule|mandatory|compulsory|part\s+of|"
            r"a\s+checklist)|making\s+it|hir\w+|rais\w+\s+(?:it|this)\s+with|report\w*\s+(?:it|"
            r"this|the)|flagg\w+|label+(?:ed|ing)\s+(?:the|all|every|each)|replac\w+\s+(?:the|"
            r"our)\s+(?!\w+\s+(?:on|in|for)\s+your)|found\s+(?:the|what)|identif\w+|tighten\w*|"
            r"doubl(?:ed|ing)\s+(?:the|our|up)|automat(?:ed|ing)\s+(?:the|our)|stopp\w+\s+\w+ing|"
            r"bann(?:ed|ing)|remov\w+\s+(?:all|the)\s+\w+\s+from|pull\w*\s+(?:all|the)|"
            r"delet\w+\s+(?:that|the)|walk\w*\s+(?:the|our)\s+\w+(?:\s+\w+)?\s+through|"
            r"spoken\s+(?:to|with)\s+(?:the\s+(?:whole\s+)?team|all|every|our\s+(?:team|staff))|"
            r"shar\w+\s+(?:your|this)\s+(?:case|feedback|complaint|story)\s+with|ask\w*\s+(?:our|"
            r"the)\s+[\w\s]{0,30}?(?:team|manager|department|station)\s+to\s+\w+|put\s+(?:a|"
            r"your)\s+(?:note|flag)|tak\w+\s+(?:that|the)\s+\w+\s+off|"
            r"book\w*\s+an?\s+(?:electrician|engineer|audit|inspection)|double[- ]?check\w*|"
            r"confirm\w*\s+(?:every|each|all)|add\w*\s+(?:a|an|the|another|extra|more|new|second|"
            r"two|our)?\s*(?:[\w-]+\s+){0,2}?(?:check|checks|checklist|step|rule|alert|alarm|test|"
            r"tests|inspection|review|sign-?off|approval|rota|contract|system|training|reminder|"
            r"confirmation|log|warning|backup|route|provider|supplier|sensor|generator|technician|"
            r"person|scan|policy|process|flag|field|photo|staff|riders?|drivers?|cover|capacity|"
            r"barrier|sign|signs|label|labels)\b|add\w*\s+[\w-]+(?:\s+[\w-]+){0,3}\s+to\s+(?:the|"
            r"our|every|your)\s+(?:[\w-]+\s+)?(?:checklist|list|process|sheet|rota|handover|"
            r"confirmations?|notes|profile|test\s+suite|script|form|pre-release|booking)|"
            r"put\s+(?:\w+\s+){1,3}on\s+the\s+(?:\w+\s+)?(?:sheet|checklist|list|rota)|"
            r"stopped\s+(?:it|them)\s+from|set\s+an?\s+\w+|mov\w+\s+\w+\s+(?:renewals|"
            r"to\s+automat\w+)|spoken\s+to\s+(?:him|her|them|the\s+\w+)\b(?=[^.!?]{0,40}\b(?:and|"
            r"so)))\b"
        ),
        _re(
            r"\b(?:new|extra|second|additional|daily|weekly|automatic|automated|final|mandatory|"
            r"proper|emergency|backup|on-call|two-step|double|photo)\s+(?:[\w-]+\s+)?(?:check|"
            r"checks|checklist|step|rule|process|procedure|alert|alarm|test|inspection|review|"
            r"sign-?off|approval|rota|contract|system|training|reminder|confirmation|log|warning|"
            r"backup|route|provider|supplier|generator|technician|scan|policy|reviewer|"
            r"confirmation)\b|\b(?:safety\s+officer|retrain\w*|training\s+session|"
            r"a\s+second\s+(?:person|pharmacist|reviewer|approval|technician))\b|\bso\s+(?:it|"
            r"this)\s+doesn't\s+happen\s+again\b|\bso\s+(?:it|this)\s+won't\s+happen\s+again\b|"
            r"\bto\s+stop\s+it\b|\bwon't\s+happen\s+again:\b|\bcan't\s+happen\s+twice\b|"
            r"\bcan't\s+slip\b|\bis\s+being\s+(?:corrected|fixed|changed|reviewed)\s+this\s+week\b|"
            r"\bare\s+fixing\b|\bis\s+being\s+set\s+by\b|\bbeing\s+retrained\b|\bwe're\s+adding\b|"
            r"\bwe\s+are\s+adding\b|\bwe're\s+looking\s+at\s+why\b|\bchecked\s+by\s+hand\b|"
            r"\bflagged\s+so\b"
        ),
    ),
    customer_work=_re(
        r"\bplease\s+(?:call|contact|ring|phone|fill\s+in|complete|submit|send\s+(?:us|your|photos|"
        r"evidence)|visit|see|check|bring|reply|email|write|log\s+in|go\s+to|use\s+(?:the|our)|"
        r"allow)\b|\byou(?:'ll|\s+will)\s+(?:need|have)\s+to\b|\byou'd\s+need\s+to\b|"
        r"\byou\s+(?:can|may|could)\s+(?:claim|contact|call|apply|book|try|fill|submit|request|"
        r"make\s+a\s+claim|dispute)\b|\b(?:have\s+you\s+tried|did\s+you\s+try|"
        r"could\s+you\s+(?:check|try|send|tell))\b|\bif\s+you(?:'d|\s+would)?\s+(?:like|wish|"
        r"want)\s+to\s+(?:make\s+a\s+claim|claim|complain|dispute|escalate)\b|"
        r"\bcan\s+be\s+claimed\b|\bplease\s+(?:see|refer)\b|\bjust\s+ignore\b|"
        r"\bplease\s+disregard\b"
    ),
    cliche_mild=_re(r"\b(?:rest assured|thank you for your patience|please accept our)\b"),
    coupon=_re(
        r"\b(?:use|enter|apply|quote|with) (?:the )?(?:promo |discount |voucher |coupon )?code\b|"
        r"\bcode (?-i:[A-Z0-9]{4,})\b|\b\d{1,2} ?% off\b"
    ),
    but_opening=_re(
        r"^(?:but|however|although|that said|nevertheless|nonetheless|then again|to be fair)\b"
    ),
    but_rescue=_re(
        r"\b(?:i've|we've|i have|we have|i'll|we'll|i will|we will|here's|here is|the good news|"
        r"more importantly|that's on us|it's on us)\b"
    ),
    negation_before=_re(r"(?:\bnot|n't|\bno|\bnever|\bnobody's|\bno one's)\s+(?:\w+\s+)?$"),
)


# --- Spanish ------------------------------------------------------------------------------------

_APOLOGY_ES = (
    r"\b(?:lo siento|lo sentimos|siento|sentimos|perd[oó]n\w*|perdona\w*|perdone\w*|disculp\w+|"
    r"lamento|lamentamos|lamentar|mis disculpas|nuestras disculpas)\b"
)

SPANISH = RuleSet(
    language="es",
    apology=_re(_APOLOGY_ES),
    sympathy=_re(r"\b(?:sentimos|siento|lamentamos|lamento) (?:mucho )?(?:saber|leer|oír)\b"),
    problems={
        "conditional": _re(
            r"\b(?:lo siento|lo sentimos|perd[oó]n|disculp\w+|lamentamos|sentimos)\s+si\b|\b(?:si|"
            r"en caso de que)\b[^.!?]{0,60}\b(?:molest\w*|inconvenient\w*|causado|ofend\w*|"
            r"sentado mal|problema|mal atendid\w*)\b[^.!?]{0,40}\b(?:disculp\w+|perd[oó]n|sentimos|"
            r"siento|lamentamos)"
        ),
        "blames_feelings": _re(
            r"\b(?:sentimos|siento|lamentamos|lamento|sentimos mucho|"
            r"lamentamos mucho) (?:mucho )?que (?:usted |tú )?(?:se |te )?(?:sienta|sintiera|"
            r"haya sentido|hayas sentido|haya quedado|hayas quedado|esté|estés|no (?:esté|estés|"
            r"haya quedado|hayas quedado|le guste|te guste|le gustara|te gustara|le haya gustado|"
            r"te haya gustado))\b|\blo perciba\b|\b(?:no )?(?:cumpliera|cumpla|"
            r"cumplió) (?:con )?(?:sus|tus) expectativas\b|\bse sienta así\b|\bsentido molest\w*\b|"
            r"\bmal atendid\w*\b"
        ),
        "passive": _re(
            r"\bse (?:cometieron|cometió|produjo|produjeron|ha producido|han producido|"
            r"ha detectado|detectó) (?:un |unos |una )?(?:error|errores|incidencia|fallo|"
            r"fallos)?\b|\bhubo (?:un|una) (?:error|confusión|malentendido|fallo|problema)\b|"
            r"\bfue cancelad[ao] por error\b|\bse aplicó\b|\bha sido trasladada\b|"
            r"\bdepartamento correspondiente\b"
        ),
        "excuse": _re(
            r"\bajen[oa]s?\b|\bfuera de nuestro control\b|\bno depend(?:e|ía|ió) de nosotros\b|"
            r"\bno (?:podíamos|pudimos|podemos) hacer nada\b|\bse debió a\b|"
            r"\bdebido a(?:l)? (?:mal tiempo|tiempo|huelga|tráfico|temporal|lluvia|nieve)\b|"
            r"\bhabía mucha gente\b|\bmucha gente\b|\bmucho trabajo\b|\bdesbordad[oa]s\b|"
            r"\bfalta de personal\b|\bhuelga\b|\bmal tiempo\b|"
            r"\bla empresa de mensajería es la responsable\b|\bel sistema falló\b|"
            r"\bles pasa a todos\b|\besperando piezas\b"
        ),
        "policy_shield": _re(
            r"\bnuestra política\b|\blas condiciones (?:indican|establecen|dicen)\b|"
            r"\b(?:siempre )?siguen? (?:los|nuestros) (?:procedimientos|protocolos)\b|"
            r"\bprotocolos de la empresa\b|\bno (?:podemos|poder) (?:ayudarle|ofrecer|devolver)\b"
        ),
        "blames_customer": _re(
            r"\busted (?:debería|debió|debio|tendría que)\b|\b(?:deberías|debiste|"
            r"debió avisarnos)\b|\bdebería haber\b|\bse indica claramente\b|\bclaramente\b|"
            r"\b(?:lo )?(?:pidió|solicitó) tarde\b|\bintrodujo mal\b|\busted aceptó\b|"
            r"\bconsta en nuestros archivos\b|\bmantenga sus datos\b|\bnos dio mal\b|"
            r"\bsu responsabilidad\b|\bculpa suya\b|\bculpa tuya\b"
        ),
        "blames_colleague": _re(
            r"\b(?:culpa|error) del? (?:compañer[oa]|departamento|repartidor|técnico|equipo)\b|"
            r"\byo no estaba\b|\bno estaba de turno\b|\botro departamento\b|\bya no trabaja\b|"
            r"\bes nuev[oa]\b|\bequipo de noche\b|\bcosa de otro\b|\bde otra oficina\b"
        ),
        "but": _re(
            r"\b(?:siento|sentimos|perd\w+|disculp\w+|lamento|"
            r"lamentamos)\b[^.!?]{0,80}?[,;\s]\s*(?:pero|sin embargo|aunque|"
            r"no obstante)\b(?![^.!?]{0,60}\b(?:he|hemos|ya|le hemos|te hemos|vamos a)\b)"
        ),
        "sarcasm": _re(
            r"\bleer(?:le|te)? la mente\b|\bqué tragedia\b|\bmajestad\b|\balfombra roja\b|"
            r"\ba su altura\b|[🙄🙃😒]"
        ),
        "minimising": _re(
            r"\bsolo (?:fue|fueron|es|son|ha sido|un|una|unos|unas|\d+|dos|tres|cinco|diez|veinte|"
            r"media|estuvieron|estuvo)\b|\bpequeñ[oa] (?:retraso|espera|error|fallo|problema|"
            r"incidencia)\b|\bno es para tanto\b|\bal menos\b|\bpor lo menos\b|\bes bueno para\b"
        ),
        "any_inconvenience": _re(
            r"\b(?:las |cualquier |algún )?(?:molestias|inconvenientes?)\b(?: (?:ocasionad\w+|"
            r"que (?:esto )?le haya\w*))?"
        ),
        "cliche": _re(
            r"\bsu opinión es (?:muy )?importante\b|\bagradecemos su (?:paciencia|comprensión)\b|"
            r"\bpaciencia y comprensión\b|\bnuestra prioridad\b|\btrabajamos para ofrecer\b|"
            r"\bvaloramos su\b|\bestimado cliente\b|\bsiempre trabajamos\b|"
            r"\bla mejor experiencia\b|\bgracias por sus comentarios\b"
        ),
        "upsell": _re(
            r"\bcódigo\s+(?-i:[A-Z0-9]{4,})\b|\b\d+ ?% de descuento\b|\b(?:pásate a|cámbiate a|"
            r"contrata|descubre|aprovecha|únete|pruébate)\b|\bpor solo \d|"
            r"\bnuestra nueva colección\b|\bnuestro club\b"
        ),
        "over_promise": _re(
            r"\b(?:garantiz|promet|asegur)\w*\b[^.!?]{0,40}\b(?:nunca|jamás|no volverá)\b|"
            r"\bnunca más\b|\bjamás\b|\bno (?:volverá|se repetirá) (?:a (?:pasar|"
            r"ocurrir) )?(?:nunca|jamás)\b|\btodo será perfecto\b"
        ),
    },
    weak={},
    ownership=(
        _re(
            r"\b(?:fue|es|ha sido)\s+(?:culpa|error|responsabilidad|un (?:error|fallo|"
            r"descuido))\s+(?:nuestr[oa]|mí[oa])\b|\b(?:culpa|error|fallo|responsabilidad|"
            r"descuido)\s+(?:es\s+|fue\s+)?(?:nuestr[oa]|mí[oa])\b|\bla culpa es (?:nuestra|mía)\b|"
            r"\bes culpa (?:mía|nuestra)\b|\b(?:nuestr[oa]|mi) (?:error|culpa|fallo|"
            r"responsabilidad|descuido)\b|\bnos equivocamos\b|\bme equivoqué\b|"
            r"\bnos hemos equivocado\b|\bdebimos\b|\bdeberíamos haber\b|"
            r"\basumimos (?:toda )?la responsabilidad\b|\binaceptable\b|\b(?:era|es) (?:nuestra|"
            r"mi) responsabilidad\b|\bresponsabilidad nuestra\b"
        ),
        _re(
            r"\b(?:olvidamos|olvidé|olvidó|perdimos|perdí|cobramos|reservamos|enviamos|dimos|"
            r"cancelamos|pusimos|bloqueamos|bloqueáramos|leímos|copiamos|dejamos|preparamos|"
            r"cambiamos|vendimos|dejó|perdió)\b[^.!?]{0,50}\b(?:dos veces|equivocad\w*|por error|"
            r"mal|otra|otro|en otra|en lugar|a pesar|sin avisar|sin|tarde|por equivocación|anotado|"
            r"olvid\w+)\b|\bno (?:le |te |lo |la )?(?:avisamos|informamos|llamamos|dijimos|"
            r"revisamos|registramos|tramitamos|comprobamos|enviamos)\b|\b(?:olvidó|olvidamos|"
            r"olvidé)\b|\ble dimos mal\b|\bte dimos\b[^.!?]{0,30}\ben lugar\b|\bleímos mal\b|"
            r"\bdescuido nuestro\b|\berror nuestro\b|\bfallo nuestro\b|\bfallo de nuestro\b"
        ),
    ),
    fix_done=_re(
        r"\b(?:ya\s+)?(?:he|hemos|le\s+hemos|te\s+hemos|le\s+he|te\s+he|"
        r"se\s+lo\s+hemos)\s+(?:anulado|devuelto|abonado|reembolsado|enviado|cambiado|reservado|"
        r"guardado|corregido|cancelado|citado|dado|reenviado|reprogramado|desbloqueado|enviado|"
        r"aplicado|solucionado|reparado|arreglado)\b|\b(?:ya\s+)?(?:está|están|"
        r"estás)\s+(?:desbloquead\w+|localizad\w+|anulad\w+|cancelad\w+|citad\w+|list\w+|"
        r"solucionad\w+|reparad\w+|arreglad\w+)\b|\bsalió\s+esta\s+mañana\b|"
        r"\bcorre\s+de\s+nuestra\s+cuenta\b|\bya\s+(?:ha|han)\s+llegado\b|\bsin\s+coste\b|"
        r"\bgratis\b"
    ),
    fix_future=_re(
        r"\b(?:le|te|se\s+la|se\s+lo)\s+(?:devolveremos|enviaremos|llamaremos|llamaré|llevaremos|"
        r"llevo|cambiamos|reembolsaremos|abonaremos|reservaremos|repararemos|recogemos|llevamos|"
        r"escribiremos|escribiré|pondremos|ocupo)\b|\b(?:llegará|irá|estará\s+list[oa]|"
        r"estarás\s+citad\w+|pasará\s+directamente|lo\s+recogemos)\b|\b(?:vamos\s+a|"
        r"voy\s+a)\s+(?:devolver|enviar|llamar|llevar|cambiar|reembolsar|abonar|reparar|"
        r"arreglar)\b|\breembolsaremos\b|\bdevolveremos\b|\bnos\s+llevaremos\b|\bse\s+(?:entregará|"
        r"enviará|instalará|reparará|cambiará|devolverá|abonará)\b|\brecibirá\b|"
        r"\bnos\s+encantaría\s+invitar\w*\b|\bpásate\s+hoy\b"
    ),
    fix_vague=_re(
        r"\b(?:cuando\s+sea\s+posible|lo\s+antes\s+posible|ya\s+le\s+llamaremos\s+cuando|"
        r"estudiaremos|revisaremos\s+su\s+caso|en\s+breve|trasladad\w+)\b"
    ),
    time=_re(
        r"\b(?:hoy|mañana|esta\s+(?:mañana|tarde|noche|semana)|a\s+las\s+\d|antes\s+de\s+las|"
        r"el\s+(?:lunes|martes|miércoles|jueves|viernes|sábado|domingo)|en\s+(?:una|dos|"
        r"\d+)\s+(?:hora|horas|días|minutos)|\d{1,2}:\d{2}|ya|ahora)\b"
    ),
    compensation=_re(r"\b(?:corre\s+de\s+nuestra\s+cuenta|sin\s+coste|gratis|invitar\w*)\b"),
    prevention=(
        _re(
            r"\b(?:desde\s+(?:hoy|ahora|esta\s+semana|este\s+momento)|a\s+partir\s+de\s+(?:ahora|"
            r"hoy|mañana|esta\s+semana)|en\s+adelante|de\s+ahora\s+en\s+adelante)\b|"
            r"\bpara\s+que\s+no\s+(?:vuelva|se\s+repita)\b|\bno\s+vuelva\s+a\s+(?:pasar|ocurrir)\b"
        ),
        _re(
            r"\bhemos\s+(?:añadido|cambiado|corregido|puesto|introducido|creado|mejorado|revisado|"
            r"modificado|guardado\s+su\s+preferencia|marcado)\b|\bhe\s+marcado\b|"
            r"\bahora\s+(?:revisamos|comprobamos|confirmamos|enviamos|bloqueamos|llamamos|"
            r"un\s+segundo|cada|escaneamos|comparamos)\b|\bestamos\s+formando\b|\bformación\b|"
            r"\brevisa\s+cada\b|\bsegunda\s+revisión\b|\bprueba\s+de\s+línea\b|"
            r"\bahora\s+(?:\w+\s+)?\w+mos\b|\bahora\s+(?:el|la|los|las|un|una|"
            r"cada)\b[^.!?]{0,40}\b(?:debe|revisa|comprueba|confirma|tiene\s+que)\b|"
            r"\bhemos\s+guardado\s+su\s+preferencia\b|\bcorrigen\s+el\s+error\b"
        ),
    ),
    customer_work=_re(
        r"\b(?:le\s+rogamos|por\s+favor,?\s+(?:llame|contacte|revise)|¿me\s+dice|contacte\s+con|"
        r"compruebe)\b"
    ),
    cliche_mild=_re(r"\b(?:gracias por su paciencia)\b"),
    coupon=_re(r"\bcódigo\s+(?-i:[A-Z0-9]{4,})\b|\b\d+ ?% de descuento\b"),
    but_opening=_re(r"^(?:pero|sin embargo|aunque|no obstante)\b"),
    but_rescue=_re(r"\b(?:he|hemos|le\s+hemos|te\s+hemos|vamos\s+a)\b"),
    negation_before=_re(r"(?:\bno|\bnunca|\bni)\s+(?:\w+\s+)?$"),
)

RULESETS = {"en": ENGLISH, "es": SPANISH}


# --- Reading a draft ----------------------------------------------------------------------------


def analyse(text: str, language: str = "en") -> Report:
    """Run one language's rules over a draft, sentence by sentence."""
    rules = RULESETS.get(language, ENGLISH)
    text = normalise(text)
    sentences = split_sentences(text)
    report = Report(language=rules.language, text=text, sentences=sentences)
    quality: dict[str, list[int]] = {
        name: []
        for name in (
            "apology",
            "sympathy",
            "ownership",
            "fix_done",
            "fix_future",
            "fix_vague",
            "fix_time",
            "compensation",
            "prevention",
            "customer_work",
            "cliche_mild",
            "coupon",
        )
    }
    for i, sentence in enumerate(sentences):
        s = sentence.text
        for code, pattern in rules.problems.items():
            match = pattern.search(s)
            if match:
                report.hits.append(Hit(code, i, match.group().strip()))
        for code, pattern in rules.weak.items():
            match = pattern.search(s)
            if match and not any(h.code == code and h.sentence == i for h in report.hits):
                report.hits.append(Hit(code, i, match.group().strip(), weak=True))
        # "I'm sorry. But our policy..." takes it back as surely as one sentence does.
        follows_apology = i > 0 and quality["apology"][-1:] == [i - 1]
        if (
            follows_apology
            and rules.but_opening.search(s)
            and not rules.but_rescue.search(s)
            and not _has(report, "but", i)
        ):
            report.hits.append(Hit("but", i, s.split()[0]))
        apology = list(rules.apology.finditer(s))
        if apology:
            quality["apology"].append(i)
            if all(rules.sympathy.search(s[m.start() : m.end() + 12]) for m in apology):
                quality["sympathy"].append(i)
        if _owns(rules, s):
            quality["ownership"].append(i)
        vague = bool(rules.fix_vague.search(s)) and not rules.time.search(s)
        for name in ("fix_done", "fix_future", "fix_vague", "compensation", "customer_work"):
            # "We'll look into it and be in touch" promises nothing the customer can hold us to.
            if vague and name in ("fix_done", "fix_future"):
                continue
            if getattr(rules, name).search(s):
                quality[name].append(i)
        if rules.time.search(s) and (
            rules.fix_done.search(s) or rules.fix_future.search(s) or rules.compensation.search(s)
        ):
            quality["fix_time"].append(i)
        if any(p.search(s) for p in rules.prevention):
            quality["prevention"].append(i)
        if rules.cliche_mild.search(s):
            quality["cliche_mild"].append(i)
        if rules.coupon.search(s):
            quality["coupon"].append(i)
    report.qualities = quality
    _settle(report, rules)
    return report


def _has(report: Report, code: str, sentence: int) -> bool:
    return any(h.code == code and h.sentence == sentence for h in report.hits)


def _owns(rules: RuleSet, sentence: str) -> bool:
    for pattern in rules.ownership:
        for match in pattern.finditer(sentence):
            before = sentence[max(0, match.start() - 24) : match.start()]
            if not rules.negation_before.search(before):
                return True
    return False


def _settle(report: Report, rules: RuleSet) -> None:
    """Resolve what depends on the whole draft: a deflecting sentence owns nothing,
    a promise never to repeat is a prevention only with something behind it."""
    q = report.qualities
    deflecting = {h.sentence for h in report.hits if h.code in rules.deflecting and not h.weak}
    q["ownership"] = [i for i in q["ownership"] if i not in deflecting]
    promises = {h.sentence for h in report.hits if h.code == "over_promise"}
    q["prevention"] = [i for i in q["prevention"] if i not in promises]
    if q["prevention"]:
        # "We've added a second check, so this will never happen again" is backed by the check.
        report.hits = [h for h in report.hits if not (h.code == "over_promise" and q["prevention"])]
    # A promise of a fix that is only "we'll look into it" is not a fix.
    concrete = set(q["fix_done"]) | set(q["fix_future"]) | set(q["compensation"])
    q["fix_vague"] = [i for i in q["fix_vague"] if i not in concrete]
    # A coupon in place of an apology is an upsell; beside a real fix it is a gesture.
    if concrete and report.owned:
        report.hits = [h for h in report.hits if not (h.code == "upsell" and h.weak)]


def word_count(text: str) -> int:
    return len(words(text))
