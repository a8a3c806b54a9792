"""The app driven as a person would: keys and clicks, each pane's content asserted."""

from __future__ import annotations

from textual.widgets import Input

from simulator.tui.app import HandoffApp

from .helpers import make_app, shows, text_of, until


def panes(app: HandoffApp) -> tuple[str, str]:
    return text_of(app.query_one("#user-pane")), text_of(app.query_one("#agent-pane"))


async def test_a_webchat_user_is_handed_to_the_agent_who_replies_and_solves() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        state = app.state
        await until(pilot, lambda: state.conversation() and state.conversation().items, "the bot's greeting")
        user = state.conversation()
        assert user is not None and user.channel == "webchat"
        assert app.focused is app.query_one("#composer", Input)  # type straight away
        assert "BOT" in text_of(app.query_one("#badge"))

        await pilot.press(*"talk to a human", "enter")
        await until(pilot, lambda: state.tickets, "the ticket")
        user_text = await shows(pilot, "#user-pane", "WAITING FOR AGENT", "Transferring you to an agent")
        agent_text = await shows(pilot, "#agent-pane", "talk to a human")
        assert "Transferring you to an agent" in user_text and "WAITING FOR AGENT" in user_text
        assert f"1 new {user.name}" in agent_text  # the ticket row: number, status, requester
        assert "talk to a human" in agent_text  # the transcript

        await pilot.press("f2")  # accept
        await until(pilot, lambda: state.tickets[0].assignee == "Sarah", "the ticket assigned")
        await pilot.click("#reply")
        await pilot.press(*"Hi Ana", "enter")
        user_text = await shows(pilot, "#user-pane", "Hi Ana", "WITH AGENT")
        agent_text = await shows(pilot, "#agent-pane", "1 open")
        assert user_text.index("Sarah has joined") < user_text.index("Hi Ana")
        assert "WITH AGENT" in user_text
        assert "1 open" in agent_text and "Sarah" in agent_text

        await pilot.press("f4")  # solve
        user_text = await shows(pilot, "#user-pane", "Session ended", "ENDED")
        agent_text = await shows(pilot, "#agent-pane", "1 solved")
        assert user_text.index("Agent has left") < user_text.index("Session ended")
        assert "ENDED" in user_text
        assert "1 solved" in agent_text


async def test_an_sms_user_is_handed_to_the_agent_who_replies_and_solves() -> None:
    app = make_app(first_user=False)
    async with app.run_test(size=(100, 30)) as pilot:
        state = app.state
        await until(pilot, lambda: app.started, "the simulator")
        await pilot.press("ctrl+t")  # new SMS user
        await until(pilot, lambda: state.conversation() is not None, "the SMS user")
        user = state.conversation()
        assert user is not None and user.channel == "sms" and user.phone.startswith("+1555")
        assert user.phone in text_of(app.query_one("#user-pane"))

        await pilot.press(*"hi", "enter")
        await until(pilot, lambda: any("Demo assistant" in i.text for i in user.items), "the bot's text")
        await pilot.press(*"agent", "enter")
        await until(pilot, lambda: state.tickets, "the ticket")
        ticket = state.ticket_for(user)
        assert ticket is not None and f"{ticket.id} new {ticket.requester}" in text_of(app.query_one("#tickets"))

        await pilot.click("#tickets")
        await pilot.press("f2")
        await until(pilot, lambda: state.tickets[0].assignee == "Sarah", "the ticket assigned")
        await pilot.click("#reply")
        await pilot.press(*"Hi", "enter")
        user_text = await shows(pilot, "#user-pane", "Sarah has joined", "Hi")
        assert user_text.index("Sarah has joined") < user_text.rindex("Hi")

        await pilot.press("f3")  # the status picker
        await pilot.press("down", "down", "enter")  # open, pending, solved
        await shows(pilot, "#user-pane", "The agent has left the chat", "ENDED")
        await shows(pilot, "#tickets", "solved")


async def test_a_scenario_file_plays_step_by_step_into_both_panes() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        state = app.state
        await until(pilot, lambda: app.started, "the simulator")
        live_user = state.conversation()
        await pilot.press("f5")
        picker = app.screen
        files = [p.name for p in picker.files]  # type: ignore[attr-defined]
        await pilot.press(*["down"] * files.index("happy_path.json"), "s")  # s: step by step
        await until(pilot, lambda: state.mode == "scenario" and state.player.index == 0, "the first step")
        assert "step 1/" in text_of(app.query_one("#player"))

        total = state.player.total
        seen_ticket = False
        for index in range(total):
            await until(pilot, lambda i=index: state.player.index == i, f"step {index + 1}")  # type: ignore[misc]
            seen_ticket |= bool(state.tickets)
            await pilot.press("f6")
        await until(pilot, lambda: state.player.result != "", "the result")
        assert seen_ticket  # the agent pane showed the scenario's ticket while it played
        assert state.player.passed and "happy_path.json ... ok (" in state.player.result
        await shows(pilot, "#user-pane", "Hi, I'm Sarah. How can I help?", "Session ended")
        await shows(pilot, "#tickets", "solved")

        await pilot.press("enter")  # back to the live simulator, as it was
        await until(pilot, lambda: state.mode == "live", "the live view")
        assert state.conversation() is live_user
