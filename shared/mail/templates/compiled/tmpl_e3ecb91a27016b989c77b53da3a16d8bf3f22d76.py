from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'default.text.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_n = resolve('n')
    l_0_status_line = resolve('status_line')
    l_0_alerts = l_0_several = missing
    try:
        t_1 = environment.filters['dictsort']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'dictsort' found.")
    try:
        t_2 = environment.filters['duration']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'duration' found.")
    try:
        t_3 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    try:
        t_4 = environment.filters['readable']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'readable' found.")
    try:
        t_5 = environment.filters['safe_url']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'safe_url' found.")
    try:
        t_6 = environment.filters['upper']
    except KeyError:
        @internalcode
        def t_6(*unused):
            raise TemplateRuntimeError("No filter named 'upper' found.")
    try:
        t_7 = environment.filters['when']
    except KeyError:
        @internalcode
        def t_7(*unused):
            raise TemplateRuntimeError("No filter named 'when' found.")
    pass
    l_0_alerts = environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'alerts_in_order')
    context.vars['alerts'] = l_0_alerts
    context.exported_vars.add('alerts')
    l_0_several = (t_3((undefined(name='alerts') if l_0_alerts is missing else l_0_alerts)) > 1)
    context.vars['several'] = l_0_several
    context.exported_vars.add('several')
    yield str((undefined(name='status_line') if l_0_status_line is missing else l_0_status_line))
    yield '\n'
    yield str(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'title'))
    yield '\n'
    yield str(('=' * (t_3(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'title')) if (t_3(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'title')) < 72) else 72)))
    yield '\n'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'summary'):
        pass
        yield '\n'
        yield str(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'summary'))
        yield '\n'
    l_1_loop = missing
    for l_1_alert, l_1_loop in LoopContext((undefined(name='alerts') if l_0_alerts is missing else l_0_alerts), undefined):
        l_1_Severity = resolve('Severity')
        l_1_Status = resolve('Status')
        l_1_distinct = missing
        _loop_vars = {}
        pass
        if environment.getattr(l_1_loop, 'first'):
            pass
            yield '\n'
        l_1_distinct = context.call(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'distinct_labels'), l_1_alert, _loop_vars=_loop_vars)
        _loop_vars['distinct'] = l_1_distinct
        yield '* '
        yield str(t_6(environment.getattr(l_1_alert, 'status')))
        if ((environment.getattr(l_1_alert, 'severity') != environment.getattr((undefined(name='Severity') if l_1_Severity is missing else l_1_Severity), 'UNKNOWN')) and (environment.getattr(l_1_alert, 'status') != environment.getattr((undefined(name='Status') if l_1_Status is missing else l_1_Status), 'RESOLVED'))):
            pass
            yield ' ('
            yield str(environment.getattr(l_1_alert, 'severity'))
            yield ')'
        yield ': '
        yield str(environment.getattr(l_1_alert, 'name'))
        l_2_loop = missing
        for (l_2_key, l_2_value), l_2_loop in LoopContext(t_1((undefined(name='distinct') if l_1_distinct is missing else l_1_distinct)), undefined):
            _loop_vars = {}
            pass
            yield str((' ' if environment.getattr(l_2_loop, 'first') else ', '))
            yield str(l_2_key)
            yield '='
            yield str(l_2_value)
        l_2_loop = l_2_key = l_2_value = missing
        yield '\n'
        if ((environment.getattr(l_1_alert, 'status') == environment.getattr((undefined(name='Status') if l_1_Status is missing else l_1_Status), 'RESOLVED')) and environment.getattr(l_1_alert, 'ends_at')):
            pass
            yield '  resolved '
            yield str(t_7(environment.getattr(l_1_alert, 'ends_at')))
            if environment.getattr(l_1_alert, 'starts_at'):
                pass
                yield ', lasted '
                yield str(t_2(environment.getattr(l_1_alert, 'starts_at'), environment.getattr(l_1_alert, 'ends_at')))
            yield '\n'
        elif environment.getattr(l_1_alert, 'starts_at'):
            pass
            yield '  since '
            yield str(t_7(environment.getattr(l_1_alert, 'starts_at')))
            if (environment.getattr(l_1_alert, 'status') == environment.getattr((undefined(name='Status') if l_1_Status is missing else l_1_Status), 'FIRING')):
                pass
                yield ' ('
                yield str(t_2(environment.getattr(l_1_alert, 'starts_at')))
                yield ' ago)'
            yield '\n'
        def t_8(fiter):
            for l_2_link in fiter:
                if t_5(environment.getattr(l_2_link, 'url')):
                    yield l_2_link
        for l_2_link in t_8(environment.getattr(l_1_alert, 'links')):
            _loop_vars = {}
            pass
            yield '  '
            yield str(environment.getattr(l_2_link, 'title'))
            yield ': '
            yield str(t_5(environment.getattr(l_2_link, 'url')))
            yield '\n'
        l_2_link = missing
    l_1_loop = l_1_alert = l_1_distinct = l_1_Severity = l_1_Status = missing
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'truncated_alerts'):
        pass
        yield '\n'
        yield str(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'truncated_alerts'))
        yield ' more alert'
        yield str(('' if (environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'truncated_alerts') == 1) else 's'))
        yield ' of this group '
        yield str(('was' if (environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'truncated_alerts') == 1) else 'were'))
        yield ' not shown: left out by the sender or past the first 100 of a storm; the group has '
        yield str(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'alert_count'))
        yield ' in all.\n'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'description'):
        pass
        yield '\n'
        yield str(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'description'))
        yield '\n'
    def t_9(fiter):
        for l_1_link in fiter:
            if t_5(environment.getattr(l_1_link, 'url')):
                yield l_1_link
    l_1_loop = missing
    for l_1_link, l_1_loop in LoopContext(t_9(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'links')), undefined):
        _loop_vars = {}
        pass
        if environment.getattr(l_1_loop, 'first'):
            pass
            yield '\n'
        yield str(environment.getattr(l_1_link, 'title'))
        yield ': '
        yield str(t_5(environment.getattr(l_1_link, 'url')))
        yield '\n'
    l_1_loop = l_1_link = missing
    l_1_loop = missing
    for (l_1_key, l_1_value), l_1_loop in LoopContext(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'facts'), undefined):
        _loop_vars = {}
        pass
        if environment.getattr(l_1_loop, 'first'):
            pass
            yield '\n'
        yield str(l_1_key)
        yield ': '
        yield str(t_4(l_1_value))
        yield '\n'
    l_1_loop = l_1_key = l_1_value = missing
    def t_10(fiter):
        for (l_1_key, l_1_value) in fiter:
            if ((l_1_key, l_1_value) not in environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'facts')):
                yield (l_1_key, l_1_value)
    l_1_loop = missing
    for (l_1_key, l_1_value), l_1_loop in LoopContext(t_10(t_1(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'common_labels'))), undefined):
        _loop_vars = {}
        pass
        if environment.getattr(l_1_loop, 'first'):
            pass
            yield '\n'
            yield str(('Labels of all alerts' if (undefined(name='several') if l_0_several is missing else l_0_several) else 'Labels'))
            yield ':\n'
        yield '  '
        yield str(l_1_key)
        yield ': '
        yield str(l_1_value)
        yield '\n'
    l_1_loop = l_1_key = l_1_value = missing
    l_1_loop = missing
    for l_1_alert, l_1_loop in LoopContext((undefined(name='alerts') if l_0_alerts is missing else l_0_alerts), undefined):
        l_1_extra_summary = l_1_extra_description = missing
        _loop_vars = {}
        pass
        l_1_extra_summary = (environment.getattr(l_1_alert, 'summary') and (not ((environment.getattr(l_1_alert, 'summary') == environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'summary')) or (undefined(name='several') if l_0_several is missing else l_0_several))))
        _loop_vars['extra_summary'] = l_1_extra_summary
        l_1_extra_description = (environment.getattr(l_1_alert, 'description') and (environment.getattr(l_1_alert, 'description') != environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'description')))
        _loop_vars['extra_description'] = l_1_extra_description
        if ((((undefined(name='extra_summary') if l_1_extra_summary is missing else l_1_extra_summary) or (undefined(name='extra_description') if l_1_extra_description is missing else l_1_extra_description)) or environment.getattr(l_1_alert, 'values')) or environment.getattr(l_1_alert, 'annotations')):
            pass
            yield '\n--- '
            yield str(t_6(environment.getattr(l_1_alert, 'status')))
            yield ': '
            yield str(environment.getattr(l_1_alert, 'name'))
            yield '\n'
            if (undefined(name='extra_summary') if l_1_extra_summary is missing else l_1_extra_summary):
                pass
                yield str(environment.getattr(l_1_alert, 'summary'))
                yield '\n'
            if (undefined(name='extra_description') if l_1_extra_description is missing else l_1_extra_description):
                pass
                yield str(environment.getattr(l_1_alert, 'description'))
                yield '\n'
            for (l_2_key, l_2_value) in t_1(environment.getattr(l_1_alert, 'values')):
                _loop_vars = {}
                pass
                yield str(l_2_key)
                yield ' = '
                yield str(t_4(l_2_value))
                yield '\n'
            l_2_key = l_2_value = missing
            l_2_loop = missing
            for (l_2_key, l_2_value), l_2_loop in LoopContext(t_1(environment.getattr(l_1_alert, 'annotations')), undefined):
                _loop_vars = {}
                pass
                if environment.getattr(l_2_loop, 'first'):
                    pass
                    yield 'Annotations:\n'
                yield '  '
                yield str(l_2_key)
                yield ': '
                yield str(l_2_value)
                yield '\n'
            l_2_loop = l_2_key = l_2_value = missing
    l_1_loop = l_1_alert = l_1_extra_summary = l_1_extra_description = missing
    yield '\n-- \nSent by Mailhook from '
    yield str((environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'sender') or environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'source')))
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'sender'):
        pass
        yield ' (via the '
        yield str(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'source'))
        yield ' hook)'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'event'):
        pass
        yield ' ('
        yield str(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'event'))
        yield ')'
    yield '.\n'

blocks = {}
debug_info = '3=56&4=59&5=62&6=64&7=66&8=68&10=71&12=74&13=80&16=83&17=86&19=104&20=107&22=113&23=116&26=123&27=131&30=137&32=140&34=148&36=151&38=153&39=161&42=164&44=170&45=173&48=176&50=181&51=189&53=192&55=195&57=201&58=205&59=207&60=209&62=212&63=216&64=218&66=220&67=222&69=224&70=227&72=233&73=236&75=240&81=247'